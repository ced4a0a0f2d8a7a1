//! The survey page under load: the release server on SQLite, `wrk` from the same machine.
//! N invitations (default 30,000, or the first argument) are made by the real jobs (ingestion,
//! sampling); then, for 10 s each: survey page views (one link), completed submissions (each a
//! distinct link, with its form token), and nginx serving a static page of the same size as the
//! machine's ceiling. Prints requests per second and p50/p99 latency, and checks that each link
//! holds exactly one response. Needs `wrk` and `nginx` (apt-get install wrk nginx).
//! Run with `cargo bench --bench survey_load [-- N]`.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use rocket::figment::Figment;
use satisfaction::{
    clock::Clock,
    config::Settings,
    db,
    domain::{SurveyToken, TokenSalt, survey_token::form_token},
    jobs::Jobs,
    sampling::RunOptions,
};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};

const SECRET: &str = "8a1c3b2f6e5d4c7b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("nothing listens on {port}");
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `wrk` for `seconds` with 2 threads and `connections`; its summary lines.
fn wrk(url: &str, seconds: u32, connections: u32, script: Option<&std::path::Path>, env: &[(&str, String)]) -> String {
    let mut command = Command::new("wrk");
    command.args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency"]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    command.arg(url).envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let output = command.output().expect("wrk is installed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let keep = |l: &&str| {
        let l = l.trim_start();
        l.starts_with("Requests/sec")
            || l.starts_with("50%")
            || l.starts_with("99%")
            || l.contains("requests in")
            || l.starts_with("Non-2xx")
            || l.starts_with("Socket errors")
    };
    text.lines().filter(keep).map(str::trim).collect::<Vec<_>>().join(" | ")
}

const GET_SCRIPT: &str = r#"
-- Each thread views every WRK_THREADS-th link of TOKENS once (none was viewed before).
local tokens, counter = {}, 0
local id_counter = 0
function setup(thread)
  thread:set("id", id_counter)
  id_counter = id_counter + 1
end
function init(args)
  for line in io.lines(os.getenv("TOKENS")) do table.insert(tokens, line) end
end
function request()
  local line = tokens[counter * tonumber(os.getenv("WRK_THREADS")) + id + 1]
  counter = counter + 1
  if line == nil then return wrk.format("GET", "/health") end
  return wrk.format("GET", "/s/" .. line:match("(%S+)"))
end
"#;

const POST_SCRIPT: &str = r#"
-- Each thread takes every WRK_THREADS-th line of TOKENS ("token csrf"), posting each once.
local tokens, counter = {}, 0
local id_counter = 0
function setup(thread)
  thread:set("id", id_counter)
  id_counter = id_counter + 1
end
function init(args)
  for line in io.lines(os.getenv("TOKENS")) do table.insert(tokens, line) end
end
function request()
  local line = tokens[counter * tonumber(os.getenv("WRK_THREADS")) + id + 1]
  counter = counter + 1
  if line == nil then return wrk.format("GET", "/health") end
  local token, csrf = line:match("(%S+) (%S+)")
  return wrk.format("POST", "/s/" .. token, {["Content-Type"] = "application/x-www-form-urlencoded"},
    "csrf=" .. csrf .. "&overall=9&timeliness=8&courtesy=10&competence=na&clarity=8&fairness=9&outcome=yes&contacts=1")
end
"#;

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(60_000);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("load.db").display());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (tokens, settings) = runtime.block_on(prepare(&url, n));

    // The release server, scheduler off (nothing else writes meanwhile).
    let port = free_port();
    let server = Command::new(env!("CARGO_BIN_EXE_satisfaction"))
        .arg("serve")
        .current_dir(dir.path())
        .env("ROCKET_DATABASE_URL", &url)
        .env("ROCKET_SECRET_KEY", SECRET)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_SCHEDULER", "{enabled=false}")
        .env("ROCKET_PROFILE", "release")
        .env("RUST_LOG", "warn")
        .env("ROCKET_TEMPLATES_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/templates"))
        .env("ROCKET_STATIC_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
        .stdout(Stdio::null())
        .spawn()
        .expect("the release server");
    let _server = Killed(server);
    wait_for(port);

    // A page view: the survey of a link nobody submits.
    let page_url = format!("http://127.0.0.1:{port}/s/{}", tokens[0].0);
    let page = runtime.block_on(async { reqwest::get(&page_url).await.unwrap().bytes().await.unwrap().to_vec() });
    println!("survey page: {} bytes", page.len());
    println!("GET /s/<token>, the same link again and again (32 connections):  {}", wrk(&page_url, 10, 32, None, &[]));

    // nginx: a static file of the same size, same machine, same run.
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("page.html"), &page).unwrap();
    let nginx_port = free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 2; daemon off; pid {pid}; error_log stderr crit; events {{ worker_connections 1024; }}
             http {{ access_log off; server {{ listen 127.0.0.1:{nginx_port}; root {root}; }} }}",
            pid = dir.path().join("nginx.pid").display(),
            root = root.display()
        ),
    )
    .unwrap();
    let nginx = Command::new("nginx")
        .args(["-c", conf.to_str().unwrap(), "-p", dir.path().to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx is installed (apt-get install nginx)");
    let nginx = Killed(nginx);
    wait_for(nginx_port);
    println!(
        "nginx, same size (32 connections): {}",
        wrk(&format!("http://127.0.0.1:{nginx_port}/page.html"), 10, 32, None, &[])
    );
    drop(nginx);

    // Views of links never viewed before (3 s: each is viewed once), then submissions of the
    // others, each once.
    let write_list = |name: &str, tokens: &[(String, String)]| {
        let list = dir.path().join(name);
        let mut file = std::fs::File::create(&list).unwrap();
        for (token, csrf) in tokens {
            writeln!(file, "{token} {csrf}").unwrap();
        }
        list
    };
    let half = tokens.len() / 2;
    let (viewed, submitted) =
        (write_list("viewed.txt", &tokens[1..half]), write_list("submitted.txt", &tokens[half..]));
    let (get_script, post_script) = (dir.path().join("get.lua"), dir.path().join("post.lua"));
    std::fs::write(&get_script, GET_SCRIPT).unwrap();
    std::fs::write(&post_script, POST_SCRIPT).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let env = [("TOKENS", viewed.display().to_string()), ("WRK_THREADS", "2".to_owned())];
    println!("GET /s/<token>, each link once (32 connections, 3 s): {}", wrk(&base, 3, 32, Some(&get_script), &env));
    let env = [("TOKENS", submitted.display().to_string()), ("WRK_THREADS", "2".to_owned())];
    println!("POST /s/<token>, each link once (32 connections): {}", wrk(&base, 10, 32, Some(&post_script), &env));
    // Requests still in flight when wrk stops finish first.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (responses, answered) = runtime.block_on(count(&url, &settings));
    println!(
        "{responses} responses stored in 10 s: {:.0} completed submissions/s; {answered} invitations answered; one response per link: {}",
        responses as f64 / 10.0,
        responses == answered
    );
    assert_eq!(responses, answered, "exactly one response per link");
}

/// The database and N invitations made by the real jobs; each link's token and form token.
async fn prepare(url: &str, n: usize) -> (Vec<(String, String)>, Settings) {
    let figment = Figment::from(rocket::figment::providers::Serialized::defaults(Settings::default()))
        .merge(("database_url", url))
        .merge(("secret_key", SECRET))
        .merge(("sampling.default_rate", 1.0));
    let settings = Settings::from_figment(&figment).expect("settings");
    let conn = db::connect(url, &settings.database).await.expect("connect");
    db::migrate(&conn).await.expect("migrate");
    let now = chrono::Utc::now();
    let jobs = Jobs::new(conn.clone(), Arc::new(settings.clone()), Clock::fixed(now));
    let closed = (now - chrono::Duration::days(1)).to_rfc3339();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let items: Vec<serde_json::Value> = chunk
            .iter()
            .map(|i| {
                let (direction, channel) = (["TP", "ENV", "URB"][i % 3], ["phone", "web_form", "email"][i % 3]);
                serde_json::json!({
                    "service_request_id": format!("LOAD-{i:06}"), "status": "closed",
                    "agency_responsible": direction, "channel": channel, "closed_datetime": closed,
                    "contact_email": format!("citoyen{i}@courriel.example"), "service_name": "Nid-de-poule",
                })
            })
            .collect();
        jobs.ingest_api_body("bench", &serde_json::to_string(&items).unwrap()).await.expect("ingest");
    }
    jobs.sample(RunOptions::default()).await.expect("sampling");
    let invitations = satisfaction::db::entities::invitation::Entity::find().all(&conn).await.unwrap();
    assert_eq!(invitations.len(), n);
    let key = settings.token_key().to_vec();
    let tokens = invitations
        .iter()
        .map(|i| {
            let token = SurveyToken::derive(&key, &TokenSalt::from_stored(i.token_salt.as_deref().unwrap()));
            let csrf = form_token(&key, satisfaction::survey::FORM_PURPOSE, token.as_str());
            (token.as_str().to_owned(), csrf)
        })
        .collect();
    (tokens, settings)
}

/// Responses stored, and invitations answered, in one snapshot.
async fn count(url: &str, settings: &Settings) -> (i64, i64) {
    let conn = db::connect(url, &settings.database).await.expect("connect");
    let sql = "SELECT (SELECT COUNT(*) FROM responses), (SELECT COUNT(*) FROM invitations WHERE state = 'answered')";
    let row = conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql)).await.unwrap().unwrap();
    (row.try_get_by_index::<i64>(0).unwrap(), row.try_get_by_index::<i64>(1).unwrap())
}
