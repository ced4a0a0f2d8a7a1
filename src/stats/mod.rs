//! The statistics engine: pure functions from sufficient statistics to estimates with
//! confidence intervals. No database, no HTTP, no clock.
//!
//! Ratings are integers 0..=10, so every estimate below is computed exactly from *cells*: for
//! each (direction, channel, month, stratum, score), the number of responses, Σw and Σw². A
//! breakdown over millions of responses costs a few thousand numbers.
//!
//! Conventions are those of R's `survey` package (Lumley 2004, 2010) for
//! `svydesign(ids=~1, strata=~stratum, weights=~weight)` with
//! `options(survey.lonely.psu="adjust")`: `svymean`, `svyby`, `svyciprop(method="logit")`,
//! `confint(df=degf(design))`. The design is the set of responses of the requested period;
//! groups and the direction/channel filters are *domains* of it (z = 0 outside the domain).

pub mod adjust;
pub mod cells;
pub mod compare;
pub mod design;
pub mod drivers;
pub mod estimate;
pub mod quantiles;

pub use cells::{Cell, GroupBy, GroupKey};
pub use estimate::{Estimate, Nps, Options, Proportion, StatsReport, estimate, estimate_adjusted};
