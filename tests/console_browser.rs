//! The Console in a real browser: headless Chromium (the distribution's `chromium` and
//! `chromium-driver`) driven over WebDriver with fantoccini, against a real
//! `secrets-guard server` on 127.0.0.1. A team of five plays the flow of issue 10, every
//! page is screenshotted to `target/console-screenshots/`, and each page is checked for
//! labelled inputs, CSRF tokens on its forms and text contrast. Attacks that a browser
//! would not make (a cross-site post without the token, a cookie reused after sign-out)
//! are made with a plain HTTP client.

mod support;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::server::{bin, server_init, Backend, Server};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The browsers are chromedriver's children in its process group: a failed test
        // must not leave them running.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's process group.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_driver() -> Driver {
    let port = free_port();
    use std::os::unix::process::CommandExt;
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver (apt-get install chromium chromium-driver)");
    let driver = Driver { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    driver
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1100,900", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--disable-breakpad", "--disable-crash-reporter",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

/// Someone of the team, with what their authenticator app would hold.
struct Person {
    email: &'static str,
    secret: String,
    /// The last TOTP step used: each code works once.
    last_step: i64,
    /// One of the recovery codes shown at enrolment.
    recovery: String,
}

impl Person {
    fn new(email: &'static str) -> Person {
        Person {
            email,
            secret: String::new(),
            last_step: 0,
            recovery: String::new(),
        }
    }

    /// A code never used before, as `secrets-guard access totp-code` computes it. Codes
    /// of the next step are accepted (clock drift); past that, wait for the clock.
    fn next_code(&mut self) -> String {
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        };
        let step = (now() / 30).max(self.last_step + 1);
        while step > now() / 30 + 1 {
            std::thread::sleep(Duration::from_millis(500));
        }
        self.last_step = step;
        let out = Command::new(bin())
            .args(["access", "totp-code", "--secret", &self.secret, "--time"])
            .arg((step * 30).to_string())
            .output()
            .expect("totp-code");
        assert!(out.status.success(), "totp-code failed");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// One plain HTTP/1.1 exchange; returns (status, headers, body).
fn http(base: &str, request: &str) -> (u16, String, String) {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn form_post(
    base: &str,
    path: &str,
    cookie: &str,
    body: &str,
    origin: &str,
) -> (u16, String, String) {
    let host = base.trim_start_matches("http://");
    http(
        base,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn get(base: &str, path: &str, cookie: &str) -> (u16, String, String) {
    let host = base.trim_start_matches("http://");
    http(
        base,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
}

fn header<'a>(head: &'a str, name: &str) -> Vec<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

/// The browser steps of the flow.
struct Ui {
    c: Client,
    base: String,
    shots: PathBuf,
}

impl Ui {
    async fn goto(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigate");
    }

    async fn path(&self) -> String {
        self.c.current_url().await.expect("url").path().to_owned()
    }

    async fn text(&self, css: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    async fn exists(&self, css: &str) -> bool {
        !self
            .c
            .find_all(Locator::Css(css))
            .await
            .expect("find")
            .is_empty()
    }

    async fn fill(&self, css: &str, value: &str) {
        let field = self.c.find(Locator::Css(css)).await.expect(css);
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Clicks what submits a form or follows a link, and waits for the next page.
    async fn click(&self, css: &str) {
        let element = self
            .c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        self.navigate_by(element).await;
    }

    async fn click_xpath(&self, xpath: &str) {
        let element = self
            .c
            .find(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|e| panic!("{xpath}: {e}"));
        self.navigate_by(element).await;
    }

    /// A click that does not leave the page (a checkbox, a form the browser refuses).
    async fn click_here(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    async fn navigate_by(&self, element: fantoccini::elements::Element) {
        let old = self.c.find(Locator::Css("html")).await.expect("page");
        element.click().await.expect("click");
        self.wait_for_new_page(old).await;
    }

    async fn wait_for_new_page(&self, old: fantoccini::elements::Element) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "the click did not load a page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        while self.js("return document.readyState;").await != json!("complete") {
            assert!(Instant::now() < deadline, "the page did not finish loading");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn select(&self, css: &str, value: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .expect(css)
            .select_by_value(value)
            .await
            .expect("select");
    }

    async fn title(&self) -> String {
        self.text("#page-title").await
    }

    async fn js(&self, script: &str) -> Value {
        self.c.execute(script, vec![]).await.expect("script")
    }

    /// Screenshot, then the accessibility and form checks every page must pass.
    async fn check(&self, name: &str) {
        let png = self.c.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write screenshot");
        let unlabelled = self
            .js(r#"return [...document.querySelectorAll('input, select, textarea')]
                .filter(el => el.type !== 'hidden')
                .filter(el => !((el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]'))
                                || el.closest('label') || el.getAttribute('aria-label')))
                .map(el => el.outerHTML);"#)
            .await;
        assert_eq!(unlabelled, json!([]), "{name}: inputs without a label");
        let unprotected = self
            .js(r#"return [...document.querySelectorAll('form')]
                .filter(f => f.method.toLowerCase() === 'post' && !f.querySelector('input[name=csrf]'))
                .map(f => f.action);"#)
            .await;
        assert_eq!(
            unprotected,
            json!([]),
            "{name}: POST forms without a CSRF token"
        );
        let inline_scripts = self
            .js("return [...document.scripts].filter(s => !s.src).length;")
            .await;
        assert_eq!(inline_scripts, json!(0), "{name}: inline script");
        let worst = self
            .js(r#"
                const rgb = s => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null;
                    const p = m[1].split(',').map(parseFloat); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
                const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
                const bg = el => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                    if (c && c.a > 0) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
                let worst = {ratio: 21, what: ''};
                for (const el of document.querySelectorAll('body *')) {
                    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
                    const r = el.getBoundingClientRect(); if (r.width === 0 || r.height === 0 || r.right < 0) continue;
                    const st = getComputedStyle(el); if (st.visibility === 'hidden') continue;
                    const a = lum(rgb(st.color)), b = lum(bg(el));
                    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
                    if (ratio < worst.ratio) worst = {ratio, what: el.tagName + ' ' + el.textContent.trim().slice(0, 40)};
                }
                return worst;"#)
            .await;
        let ratio = worst["ratio"].as_f64().expect("ratio");
        assert!(
            ratio >= 4.5,
            "{name}: text contrast {ratio:.2} < 4.5 at {}",
            worst["what"]
        );
    }

    /// Opens an invitation link, reads the text secret "as an authenticator app would",
    /// confirms the recovery codes and enters a first code.
    async fn accept(&self, link: &str, person: &mut Person, shot: Option<&str>) {
        assert!(link.starts_with(&self.base), "{link}");
        self.c.goto(link).await.expect("open the invitation");
        self.click("#accept").await;
        assert_eq!(self.text("#enrol-email").await, person.email);
        assert!(self.exists("figure.qr svg").await, "a QR code");
        person.secret = self.text("#totp-secret").await;
        assert!(
            person.secret.len() >= 16,
            "base32 secret: {}",
            person.secret
        );
        let codes = self
            .c
            .find_all(Locator::Css("#recovery-codes li"))
            .await
            .expect("codes");
        assert!(codes.len() >= 8, "recovery codes shown");
        person.recovery = codes[0].text().await.expect("a recovery code");
        if let Some(name) = shot {
            self.check(name).await;
        }
        // The confirmation is required: without it the browser does not submit.
        let code = person.next_code();
        self.fill("#code", &code).await;
        self.click_here("#activate").await;
        assert!(
            self.path().await.starts_with("/invite"),
            "not active before the confirmation"
        );
        self.click_here("#saved").await;
        self.click("#activate").await;
        assert_eq!(
            self.path().await,
            "/users",
            "{}: {}",
            person.email,
            self.title().await
        );
        assert!(self.text("#signed-in-as").await.starts_with(person.email));
    }

    async fn sign_out(&self) {
        self.click("#sign-out").await;
        assert_eq!(self.path().await, "/login");
    }

    async fn invite(&self, email: &str, role: &str, scope: &str) -> String {
        self.goto("/users").await;
        self.fill("#invite-email", email).await;
        self.select("#invite-role", role).await;
        self.fill("#invite-subaccounts", scope).await;
        self.click("#invite-submit").await;
        assert_eq!(self.path().await, "/users", "{}", self.title().await);
        let link = self.text("#once-secret").await;
        assert!(link.contains("/invite/sginv_"), "{link}");
        link
    }

    async fn add_subaccount(&self, name: &str, env: &str) {
        self.goto("/subaccounts").await;
        self.fill("#sub-name", name).await;
        self.fill("#sub-env", env).await;
        self.click("#sub-create").await;
        assert!(
            self.exists(&format!("tr[data-subaccount='{name}']")).await,
            "{name} created: {}",
            self.title().await
        );
    }

    async fn create_key(&self, subaccount: &str, name: &str) -> String {
        self.goto("/keys").await;
        self.select("#key-subaccount", subaccount).await;
        self.fill("#key-name", name).await;
        self.click("#key-create").await;
        self.text("#once-secret").await
    }

    async fn record_charge(&self, subaccount: &str, amount: &str) {
        self.goto("/billing").await;
        self.select("#charge-subaccount", subaccount).await;
        self.fill("#charge-amount", amount).await;
        self.fill("#charge-description", "usage").await;
        self.click("#charge-record").await;
        assert_eq!(self.path().await, "/billing", "{}", self.title().await);
    }

    async fn session_cookie(&self) -> String {
        self.c
            .get_named_cookie("sg_session")
            .await
            .expect("session cookie")
            .value()
            .to_owned()
    }

    async fn csrf(&self) -> String {
        self.c
            .find(Locator::Css("input[name=csrf]"))
            .await
            .expect("csrf field")
            .attr("value")
            .await
            .expect("value")
            .expect("csrf value")
    }

    /// Presses one key in the page, as a keyboard would.
    async fn press(&self, key: char) {
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.c.perform_actions(keys).await.expect("key press");
    }

    async fn focused_id(&self) -> String {
        self.js("return document.activeElement ? document.activeElement.id : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Signs in with the keyboard only: Tab to each field, type, Tab to the button, Enter.
    async fn sign_in_by_keyboard(&self, person: &mut Person) {
        self.goto("/login").await;
        let mut order = Vec::new();
        for _ in 0..12 {
            self.press(Key::Tab.into()).await;
            let id = self.focused_id().await;
            match id.as_str() {
                "email" => {
                    for ch in person.email.chars() {
                        self.press(ch).await;
                    }
                }
                "code" => {
                    for ch in person.next_code().chars() {
                        self.press(ch).await;
                    }
                }
                _ => {}
            }
            order.push(id.clone());
            if id == "sign-in" {
                break;
            }
        }
        assert!(
            order.contains(&"email".to_owned()) && order.contains(&"code".to_owned()),
            "Tab reaches the fields: {order:?}"
        );
        assert_eq!(
            order.last().map(String::as_str),
            Some("sign-in"),
            "Tab reaches the button: {order:?}"
        );
        let old = self.c.find(Locator::Css("html")).await.expect("page");
        self.press(Key::Enter.into()).await;
        self.wait_for_new_page(old).await;
        assert_eq!(self.path().await, "/users", "signed in by keyboard");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_of_five_uses_the_console_in_a_real_browser() {
    if !std::path::Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium and chromium-driver (see .ci/run)"
        );
        eprintln!("{CHROMEDRIVER} is missing: skipping the browser test");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::Sqlite(dir.path().join("access.db"));
    let owner_token = server_init(dir.path(), &backend);
    let server = Server::start(dir.path(), &backend, &[]);
    let base = server.url.clone();
    let driver = start_driver();
    let shots = screenshots_dir();
    // Two browsers: the Owner stays signed in in one, the others take turns in the second.
    let owner_ui = Ui {
        c: browser(&driver, &dir.path().join("profile-owner")).await,
        base: base.clone(),
        shots: shots.clone(),
    };
    let ui = Ui {
        c: browser(&driver, &dir.path().join("profile-team")).await,
        base: base.clone(),
        shots: shots.clone(),
    };
    let mut owner = Person::new("owner@acme.test");
    let mut admin = Person::new("admin@acme.test");
    let mut billing = Person::new("billing@acme.test");
    let mut developer = Person::new("dev@acme.test");

    // Security headers and pre-session cookie, as a plain client sees them.
    let (status, head, _) = get(&base, "/login", "");
    assert_eq!(status, 200);
    let csp = header(&head, "content-security-policy").join(" ");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header(&head, "x-content-type-options"), ["nosniff"]);
    assert_eq!(header(&head, "referrer-policy"), ["no-referrer"]);
    let pre = header(&head, "set-cookie").join(" ");
    assert!(
        pre.contains("HttpOnly") && pre.contains("SameSite=Strict"),
        "{pre}"
    );

    // 1. The Owner accepts the invitation `server init` printed and signs in.
    owner_ui.goto("/login").await;
    owner_ui.check("login").await;
    let owner_link = format!("{base}/invite/{owner_token}");
    owner_ui
        .accept(&owner_link, &mut owner, Some("invite"))
        .await;
    let cookie = owner_ui
        .c
        .get_named_cookie("sg_session")
        .await
        .expect("cookie");
    assert_eq!(cookie.http_only(), Some(true), "HttpOnly session cookie");
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    assert_eq!(cookie.path(), Some("/"));
    // The used invitation is refused the second time.
    owner_ui.c.goto(&owner_link).await.expect("goto");
    owner_ui.click("#accept").await;
    assert_eq!(owner_ui.title().await, "401 Unauthorized");

    // Health: no backup administrator yet, with the link to fix it.
    owner_ui.goto("/health").await;
    assert!(
        owner_ui
            .exists("tr[data-kind='no-backup-administrator']")
            .await
    );
    owner_ui.check("health").await;
    owner_ui
        .click("tr[data-kind='no-backup-administrator'] a.fix")
        .await;
    assert_eq!(owner_ui.path().await, "/users");
    assert!(owner_ui.exists("#invite #invite-email").await);

    owner_ui.add_subaccount("prod", "prod").await;
    owner_ui.add_subaccount("qa", "qa").await;
    let admin_link = owner_ui.invite(admin.email, "administrator", "").await;
    let billing_link = owner_ui.invite(billing.email, "billing-manager", "").await;
    // Shown once: the next visit does not show the link again.
    owner_ui.goto("/users").await;
    assert!(
        !owner_ui.exists("#once-secret").await,
        "invitation link shown twice"
    );

    // 2. The administrator accepts, 3. creates the dev subaccount and a dev key.
    ui.accept(&admin_link, &mut admin, None).await;
    // An administrator is not offered to manage administrators.
    let roles = ui
        .js("return [...document.querySelectorAll('#invite-role option')].map(o => o.value);")
        .await;
    assert_eq!(roles, json!(["developer", "billing-manager", "support"]));
    assert!(
        !ui.exists(&format!("tr[data-email='{}'] form", owner.email))
            .await
    );
    ui.add_subaccount("dev", "dev").await;
    ui.check("subaccounts").await;
    let dev_key = ui.create_key("dev", "ci").await;
    assert!(dev_key.starts_with("sgk_dev_"), "{dev_key}");
    assert_eq!(ui.path().await, "/keys");
    ui.check("keys").await;
    ui.c.refresh().await.expect("reload");
    assert!(
        !ui.exists("#once-secret").await,
        "the key is shown again after a reload"
    );
    assert!(!ui.c.source().await.expect("source").contains(&dev_key));
    let prefix = ui.text("tr[data-subaccount='dev'] code").await;
    assert!(
        dev_key.starts_with(prefix.trim_end_matches('…')),
        "{prefix} of {dev_key}"
    );
    ui.click_xpath("//tr[td[1][normalize-space()='ci']]//button[normalize-space()='Rotate']")
        .await;
    let replacement = ui.text("#once-secret").await;
    assert!(replacement.starts_with("sgk_dev_") && replacement != dev_key);
    let rotated = ui.text("tr[data-subaccount='dev']").await;
    assert!(rotated.contains("rotated: works until"), "{rotated}");
    let prod_key = ui.create_key("prod", "payments").await;
    assert!(prod_key.starts_with("sgk_prod_"), "{prod_key}");
    let leaked_key = ui.create_key("prod", "old-backend").await;
    for (sub, amount) in [
        ("prod", "12.50"),
        ("dev", "3.00"),
        ("qa", "1.25"),
        ("prod", "0.75"),
    ] {
        ui.record_charge(sub, amount).await;
    }
    // Sign-out ends the session on the server, not only in this browser.
    let admin_session = ui.session_cookie().await;
    ui.sign_out().await;
    let (status, head, _) = get(&base, "/users", &format!("sg_session={admin_session}"));
    assert_eq!(status, 303, "a signed-out session still opens pages");
    assert_eq!(header(&head, "location"), ["/login"]);

    // A scan reports a leak (by the key's hash, with file and commit): the key shows as leaked,
    // and stays live until someone revokes it.
    let body = json!({"leaks": [{"key_hash": sg_access::key_hash(&leaked_key), "path": "deploy/.env", "commit": "4be1c0de"}]}).to_string();
    let owner_session = owner_ui.session_cookie().await;
    let host = base.trim_start_matches("http://");
    let (status, _, answer) = http(
        &base,
        &format!(
            "POST /api/v1/leaks HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {owner_session}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 200, "{answer}");
    owner_ui.goto("/keys").await;
    let leaked_row = owner_ui
        .c
        .find(Locator::XPath(
            "//tr[td[1][normalize-space()='old-backend']]",
        ))
        .await
        .expect("the leaked key's row")
        .text()
        .await
        .expect("text");
    assert!(
        leaked_row.contains("leaked (live)")
            && leaked_row.contains("deploy/.env at commit 4be1c0de"),
        "{leaked_row}"
    );
    owner_ui
        .click_xpath(
            "//tr[td[1][normalize-space()='old-backend']]//button[normalize-space()='Revoke']",
        )
        .await;
    let revoked_row = owner_ui
        .c
        .find(Locator::XPath(
            "//tr[td[1][normalize-space()='old-backend']]",
        ))
        .await
        .expect("row")
        .text()
        .await
        .expect("text");
    assert!(revoked_row.contains("leaked (revoked)"), "{revoked_row}");

    // The developer's scope names dev and qa, which exist now.
    let developer_link = owner_ui
        .invite(developer.email, "developer", "dev,qa")
        .await;
    owner_ui.goto("/users").await;
    owner_ui.check("users").await;

    // 4. The billing manager sees the rollup (total = sum) and gets 403 on the keys page.
    ui.accept(&billing_link, &mut billing, None).await;
    assert!(!ui.exists("a[href='/keys']").await, "keys are not offered");
    ui.goto("/billing").await;
    let rows = ui.js("return [...document.querySelectorAll('#rollup tbody td[data-minor]')].map(td => Number(td.dataset.minor));").await;
    let rows: Vec<i64> = serde_json::from_value(rows).expect("minor amounts");
    let total = ui
        .js("return Number(document.querySelector('#rollup-total').dataset.minor);")
        .await
        .as_i64()
        .expect("total");
    assert_eq!(
        rows.iter().sum::<i64>(),
        total,
        "the total is the sum of the rows"
    );
    assert_eq!(total, 1750);
    let bars =
        ui.c.find_all(Locator::Css("#billing-chart rect.bar"))
            .await
            .expect("bars");
    assert_eq!(bars.len(), rows.len(), "one bar per subaccount");
    ui.check("billing").await;
    ui.goto("/keys").await;
    assert_eq!(ui.title().await, "403 Forbidden");
    ui.check("forbidden").await;
    ui.sign_out().await;

    // 5. The developer accepts, sees dev keys only, and cannot open prod's keys by URL.
    ui.accept(&developer_link, &mut developer, None).await;
    ui.goto("/keys").await;
    let subs = ui.js("return [...document.querySelectorAll('#keys tbody tr')].map(tr => tr.dataset.subaccount);").await;
    let subs: Vec<String> = serde_json::from_value(subs).expect("rows");
    assert!(
        !subs.is_empty() && subs.iter().all(|s| s == "dev"),
        "{subs:?}"
    );
    assert!(
        !ui.c.source().await.expect("source").contains("payments"),
        "a prod key name"
    );
    ui.goto("/keys?subaccount=prod").await;
    assert_eq!(ui.title().await, "403 Forbidden");
    ui.goto("/billing").await;
    assert_eq!(ui.title().await, "403 Forbidden");
    ui.sign_out().await;

    // The billing manager again, by keyboard only.
    ui.sign_in_by_keyboard(&mut billing).await;
    ui.sign_out().await;

    // Audit: the chain verifies, filters by user, pages, and gives a signed checkpoint.
    owner_ui.goto("/audit").await;
    let status_text = owner_ui.text("#chain-status").await;
    assert!(status_text.starts_with("Chain verified"), "{status_text}");
    owner_ui.check("audit").await;
    let entries: u64 = status_text
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .expect("entry count");
    assert!(entries > 25, "enough entries to page: {entries}");
    let first_page = owner_ui.js("return [...document.querySelectorAll('#audit tbody tr td:first-child')].map(td => Number(td.textContent));").await;
    owner_ui.click("#audit-older").await;
    let second_page = owner_ui.js("return [...document.querySelectorAll('#audit tbody tr td:first-child')].map(td => Number(td.textContent));").await;
    let (first, second): (Vec<i64>, Vec<i64>) = (
        serde_json::from_value(first_page).expect("ids"),
        serde_json::from_value(second_page).expect("ids"),
    );
    assert_eq!(first.len(), 25);
    assert!(
        second.iter().all(|id| *id < first[first.len() - 1]),
        "older entries on page 2"
    );
    owner_ui.goto("/audit").await;
    owner_ui.fill("#audit-actor", admin.email).await;
    owner_ui.fill("#audit-action", "key").await;
    owner_ui.click("#audit-filter").await;
    let actors = owner_ui.js("return [...document.querySelectorAll('#audit tbody tr')].map(tr => tr.dataset.actor + ' ' + tr.dataset.action);").await;
    let actors: Vec<String> = serde_json::from_value(actors).expect("rows");
    assert!(!actors.is_empty());
    assert!(
        actors.iter().all(|a| a.starts_with("admin@acme.test key")),
        "{actors:?}"
    );
    let csrf = owner_ui.csrf().await;
    let (status, head, body) = form_post(
        &base,
        "/audit/checkpoint",
        &format!("sg_session={owner_session}"),
        &format!("csrf={csrf}"),
        &base,
    );
    assert_eq!(status, 200, "{body}");
    assert!(header(&head, "content-disposition")[0].starts_with("attachment;"));
    let checkpoint: Value = serde_json::from_str(&body).expect("checkpoint JSON");
    let (_, _, public) = get(&base, "/api/v1/audit/public-key", "");
    let public: Value = serde_json::from_str(&public).expect("public key");
    assert_eq!(checkpoint["public_key"], public["public_key"]);
    assert_eq!(checkpoint["signature"].as_str().map(str::len), Some(128));

    // 6. A cross-site form post without the CSRF token is refused, and does nothing.
    let cookie = format!("sg_session={owner_session}");
    let (status, _, _) = form_post(
        &base,
        "/subaccounts",
        &cookie,
        "name=evil&environment=prod",
        "http://evil.test",
    );
    assert_eq!(status, 403, "a post without a CSRF token");
    let (status, _, _) = form_post(
        &base,
        "/subaccounts",
        &cookie,
        &format!("name=evil&environment=prod&csrf={}", "0".repeat(64)),
        "http://evil.test",
    );
    assert_eq!(status, 403, "a post with a wrong CSRF token");
    let (status, _, _) = form_post(
        &base,
        "/users/remove",
        &cookie,
        "email=admin%40acme.test",
        "http://evil.test",
    );
    assert_eq!(status, 403);
    owner_ui.goto("/subaccounts").await;
    assert!(
        !owner_ui.exists("tr[data-subaccount='evil']").await,
        "the forged post did something"
    );
    owner_ui.goto("/users").await;
    assert!(owner_ui.exists("tr[data-email='admin@acme.test']").await);

    // The server refuses what the page would not offer: a developer posting a removal.
    // The developer signs in with a recovery code instead of a TOTP code.
    ui.goto("/login").await;
    ui.fill("#email", developer.email).await;
    ui.fill("#code", &developer.recovery.clone()).await;
    ui.click("#sign-in").await;
    assert_eq!(ui.path().await, "/users", "signed in with a recovery code");
    let dev_csrf = ui.csrf().await;
    let dev_session = ui.session_cookie().await;
    let (status, _, _) = form_post(
        &base,
        "/users/remove",
        &format!("sg_session={dev_session}"),
        &format!("csrf={dev_csrf}&email=billing%40acme.test"),
        &base,
    );
    assert_eq!(status, 403, "the library refuses a developer's removal");

    // The Owner ends the developer's sessions, then resets their 2FA (a new invitation).
    let dev_row = "//tr[@data-email='dev@acme.test']";
    owner_ui.goto("/users").await;
    owner_ui
        .click_here("tr[data-email='dev@acme.test'] summary")
        .await;
    owner_ui
        .click_xpath(&format!(
            "{dev_row}//button[normalize-space()='End sessions']"
        ))
        .await;
    ui.goto("/users").await;
    assert_eq!(
        ui.path().await,
        "/login",
        "an ended session still opens pages"
    );
    owner_ui
        .click_here("tr[data-email='dev@acme.test'] summary")
        .await;
    owner_ui
        .click_xpath(&format!("{dev_row}//button[normalize-space()='Reset 2FA']"))
        .await;
    assert!(owner_ui
        .text("#once-secret")
        .await
        .contains("/invite/sginv_"));
    assert!(owner_ui
        .text("tr[data-email='dev@acme.test']")
        .await
        .contains("invited, not enrolled"));

    // Sign-in: a wrong code and an unknown user get the same message.
    let mut messages = Vec::new();
    for email in [billing.email, "nobody@acme.test"] {
        ui.goto("/login").await;
        ui.fill("#email", email).await;
        ui.fill("#code", "000000").await;
        ui.click("#sign-in").await;
        assert_eq!(ui.title().await, "Sign in");
        messages.push(ui.text("#error-message").await);
    }
    assert_eq!(messages[0], messages[1]);
    assert!(
        messages[0].contains("wrong or already used code"),
        "{}",
        messages[0]
    );

    // The Owner voids the first charge: a reversing entry, and the total follows.
    owner_ui.goto("/billing").await;
    owner_ui
        .fill(
            "tr[data-charge-id='1'] input[name=reason]",
            "recorded twice",
        )
        .await;
    owner_ui.click("tr[data-charge-id='1'] button").await;
    assert!(owner_ui
        .text("tr[data-charge-id='1']")
        .await
        .contains("voided by #5"));
    let total = owner_ui
        .js("return Number(document.querySelector('#rollup-total').dataset.minor);")
        .await;
    assert_eq!(total, json!(500));
    let _ = owner_ui.c.close().await;
    let _ = ui.c.close().await;
    drop(driver);
    drop(server);
}
