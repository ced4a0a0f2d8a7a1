//! Where a sampling run stands, as recorded in `sampling_runs.status`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    /// Computed and recorded; nothing created.
    DryRun,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::DryRun => "dry_run",
            RunStatus::Failed => "failed",
        }
    }
}
