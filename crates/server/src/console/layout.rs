//! The frame of every page (navigation by role, sign-out), the stylesheet, the one small
//! script, and formatting of times and amounts.

use super::{Once, Visitor};
use maud::{html, Markup, DOCTYPE};
use sg_access::roles::{grant, Capability, Grant};
use sg_access::Role;

/// The stylesheet. Every colour is one of the `:root` variables, and the pairs in
/// [`CONTRAST_PAIRS`] are checked to reach WCAG AA (4.5:1).
pub(crate) const CSS: &str = r#":root {
  --text: #1b1f24;
  --page: #ffffff;
  --muted: #4b5563;
  --link: #0a4fb3;
  --bar: #1f2937;
  --bar-text: #ffffff;
  --button: #0a4fb3;
  --button-text: #ffffff;
  --danger: #a3201a;
  --danger-text: #ffffff;
  --panel: #f2f4f7;
  --error: #8a1c16;
  --error-page: #fdecea;
  --ok: #0b5a28;
  --ok-page: #e7f4ea;
  --line: #8b95a1;
  --chart: #0a4fb3;
}
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--text); background: var(--page); }
a { color: var(--link); }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 8px; top: 8px; background: var(--page); color: var(--link); padding: 4px; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 8px 24px; background: var(--bar); color: var(--bar-text); }
header a { color: var(--bar-text); }
header .brand { font-weight: 700; margin-right: 16px; }
header nav ul { display: flex; gap: 16px; list-style: none; margin: 0; padding: 0; }
header .who { margin-left: auto; display: flex; gap: 8px; align-items: center; }
main { padding: 16px 24px; max-width: 1100px; }
h1 { font-size: 1.5rem; margin: 8px 0 16px; }
h2 { font-size: 1.15rem; margin: 24px 0 8px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); color: var(--text); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
form.inline { display: inline-flex; gap: 4px; align-items: center; margin: 0 4px 4px 0; }
details summary { cursor: pointer; color: var(--link); }
fieldset { border: 1px solid var(--line); padding: 8px 16px 16px; margin: 8px 0 16px; }
label { display: inline-block; margin: 4px 6px 4px 0; }
form input + label, form select + label { margin-left: 12px; }
section, form { margin-bottom: 12px; }
input, select { font: inherit; padding: 4px 6px; border: 1px solid var(--muted); color: var(--text); background: var(--page); }
button { font: inherit; padding: 4px 12px; border: 0; border-radius: 3px; background: var(--button); color: var(--button-text); cursor: pointer; }
button.danger { background: var(--danger); color: var(--danger-text); }
button:focus, a:focus, input:focus, select:focus { outline: 3px solid var(--link); outline-offset: 2px; }
header button { background: var(--page); color: var(--text); }
.muted { color: var(--muted); }
.error { background: var(--error-page); color: var(--error); padding: 8px 12px; }
.ok { background: var(--ok-page); color: var(--ok); padding: 8px 12px; }
.secret { background: var(--panel); color: var(--text); padding: 8px 12px; font-family: monospace; font-size: 1.05rem; word-break: break-all; }
.status-leaked, .status-revoked, .status-expired { color: var(--error); font-weight: 600; }
.status-live { color: var(--ok); font-weight: 600; }
.qr svg { width: 220px; height: 220px; }
.chart { max-width: 700px; }
.chart .bar { fill: var(--chart); }
.chart text { fill: var(--text); font-size: 13px; }
ol.codes { columns: 2; font-family: monospace; }
"#;

/// The pairs of (text, background) variables that carry text in [`CSS`].
#[cfg(test)]
const CONTRAST_PAIRS: &[(&str, &str)] = &[
    ("text", "page"),
    ("muted", "page"),
    ("link", "page"),
    ("bar-text", "bar"),
    ("button-text", "button"),
    ("danger-text", "danger"),
    ("text", "panel"),
    ("error", "error-page"),
    ("ok", "ok-page"),
    ("ok", "page"),
    ("error", "page"),
    ("text", "ok-page"),
];

/// Copy buttons: the only script, and the Console works without it.
pub(crate) const JS: &str = r#"document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = "Copied";
        });
      }
    });
  });
});
"#;

/// Whether `role` holds `capability` anywhere. Used only to decide what to *offer*: the
/// library checks every call again.
pub(crate) fn may(role: Role, capability: Capability) -> bool {
    grant(role, capability) != Grant::Denied
}

fn nav(role: Role) -> Vec<(&'static str, &'static str)> {
    let mut items = vec![("/users", "Users"), ("/subaccounts", "Subaccounts")];
    if may(role, Capability::ManageKeys) {
        items.push(("/keys", "API keys"));
    }
    if may(role, Capability::Billing) {
        items.push(("/billing", "Billing"));
    }
    items.push(("/audit", "Audit log"));
    items.push(("/health", "Health"));
    items
}

/// A whole page: header (navigation, who is signed in, sign-out), anything to show once,
/// the title and `body`.
pub(crate) fn page(
    title: &str,
    visitor: Option<&Visitor>,
    once: Option<&Once>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · secrets-guard Console" }
                link rel="stylesheet" href="/console.css";
                script src="/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    span.brand { "secrets-guard Console" }
                    @if let Some(v) = visitor {
                        nav aria-label="Main" {
                            ul {
                                @for (href, label) in nav(v.me.role) {
                                    li { a href=(href) { (label) } }
                                }
                            }
                        }
                        div.who {
                            span id="signed-in-as" { (v.me.email) " (" (v.me.role) ")" }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(v.csrf());
                                button type="submit" id="sign-out" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" {
                    @if let Some(once) = once {
                        section.ok role="status" aria-labelledby="once-title" {
                            h2 id="once-title" { (once.title) }
                            p { (once.note) }
                            p.secret id="once-secret" { (once.text) }
                            button type="button" data-copy="once-secret" hidden { "Copy" }
                        }
                    }
                    h1 id="page-title" { (title) }
                    (body)
                }
            }
        }
    }
}

/// A Unix time as UTC, to the minute.
pub(crate) fn when(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| at.to_string())
}

pub(crate) fn when_opt(at: Option<i64>) -> String {
    at.map(when).unwrap_or_else(|| "never".to_owned())
}

/// An amount in minor units as a decimal with the currency's exponent.
pub(crate) fn amount(minor: i64, exponent: u32, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{abs} {currency}");
    }
    let unit = 10u64.pow(exponent.min(18));
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / unit,
        abs % unit,
        width = exponent as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colours() -> Vec<(String, [f64; 3])> {
        let root = CSS
            .split_once(":root {")
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(vars, _)| vars)
            .expect(":root block");
        root.lines()
            .filter_map(|line| {
                let (name, value) = line.trim().trim_end_matches(';').split_once(':')?;
                let hex = value.trim().strip_prefix('#')?;
                let channel =
                    |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map(|v| f64::from(v) / 255.0);
                Some((
                    name.trim().trim_start_matches("--").to_owned(),
                    [channel(0).ok()?, channel(2).ok()?, channel(4).ok()?],
                ))
            })
            .collect()
    }

    /// WCAG 2 relative luminance.
    fn luminance(rgb: [f64; 3]) -> f64 {
        let lin = |c: f64| {
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])
    }

    fn ratio(a: [f64; 3], b: [f64; 3]) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn the_contrast_ratio_matches_known_values() {
        assert!((ratio([0.0; 3], [1.0; 3]) - 21.0).abs() < 1e-9);
        assert!((ratio([1.0; 3], [1.0; 3]) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn every_text_colour_pair_reaches_wcag_aa() {
        let colours = colours();
        let get = |name: &str| {
            colours
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| *c)
                .unwrap_or_else(|| panic!("colour --{name} is not in :root"))
        };
        for (fg, bg) in CONTRAST_PAIRS {
            let r = ratio(get(fg), get(bg));
            assert!(r >= 4.5, "--{fg} on --{bg}: contrast {r:.2} < 4.5");
        }
    }

    #[test]
    fn colours_are_only_defined_in_the_palette() {
        let after_root = CSS.split_once('}').map(|(_, rest)| rest).unwrap_or("");
        let literal = after_root.match_indices('#').any(|(i, _)| {
            after_root[i + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_hexdigit())
        });
        assert!(!literal, "a colour literal outside :root");
        assert!(
            !after_root.contains("rgb("),
            "a colour literal outside :root"
        );
    }

    #[test]
    fn amounts_use_the_currency_exponent() {
        assert_eq!(amount(1250, 2, "USD"), "12.50 USD");
        assert_eq!(amount(-5, 2, "USD"), "-0.05 USD");
        assert_eq!(amount(700, 0, "JPY"), "700 JPY");
    }
}
