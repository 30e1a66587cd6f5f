//! Pictures made on the server as inline SVG: the enrolment QR code and the billing chart.

use super::layout::amount;
use maud::{html, Markup, PreEscaped};
use sg_access::Rollup;

/// The QR code of an otpauth URI, as inline SVG (no script, no external image).
pub(crate) fn qr_svg(uri: &str) -> Markup {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return html! { p.error { "This secret is too long for a QR code: type it instead." } };
    };
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // The renderer writes only numbers and fixed text: the URI is not in its output.
    let start = svg.find("<svg").unwrap_or(0);
    let svg = svg[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of your two-factor secret\" ",
        1,
    );
    PreEscaped(svg)
}

/// The share of each subaccount in the rollup, as a horizontal bar chart. Voids can make a
/// subaccount's total negative: its bar is then empty, and its amount says why.
pub(crate) fn rollup_chart(rollup: &Rollup) -> Markup {
    const LABEL: i64 = 150;
    const BARS: i64 = 360;
    const ROW: i64 = 30;
    let largest = rollup
        .subaccounts
        .iter()
        .map(|s| s.total_minor.max(0))
        .max()
        .unwrap_or(0)
        .max(1);
    let positive_total: i64 = rollup
        .subaccounts
        .iter()
        .map(|s| s.total_minor.max(0))
        .sum::<i64>()
        .max(1);
    let rows = i64::try_from(rollup.subaccounts.len()).unwrap_or(0);
    let height = rows * ROW + 10;
    let width = LABEL + BARS + 200;
    html! {
        svg.chart id="billing-chart" xmlns="http://www.w3.org/2000/svg" role="img"
            aria-labelledby="chart-title" viewBox={ "0 0 " (width) " " (height) }
            width=(width) height=(height) {
            title id="chart-title" { "Share of each subaccount in the total" }
            @for (i, s) in rollup.subaccounts.iter().enumerate() {
                @let y = i64::try_from(i).unwrap_or(0) * ROW + 5;
                @let bar = i128::from(s.total_minor.max(0)) * i128::from(BARS) / i128::from(largest);
                @let share = i128::from(s.total_minor.max(0)) * 1000 / i128::from(positive_total);
                text x="0" y=(y + 18) { (s.name) " (" (s.environment) ")" }
                rect.bar x=(LABEL) y=(y) width=(bar) height=(ROW - 8) data-subaccount=(s.name) {}
                text x=(LABEL + i64::try_from(bar).unwrap_or(0) + 6) y=(y + 18) {
                    (amount(s.total_minor, rollup.exponent, &rollup.currency))
                    " · " (share / 10) "." (share % 10) " %"
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sg_access::SubaccountTotal;

    fn total(name: &str, minor: i64) -> SubaccountTotal {
        SubaccountTotal {
            name: name.into(),
            environment: name.into(),
            total_minor: minor,
        }
    }

    #[test]
    fn bars_are_proportional_and_names_escaped() {
        let rollup = Rollup {
            currency: "USD".into(),
            total_minor: 1500,
            subaccounts: vec![total("prod", 1000), total("<dev>", 500), total("qa", -20)],
            exponent: 2,
        };
        let svg = rollup_chart(&rollup).into_string();
        assert!(svg.contains(r#"width="360" height="22" data-subaccount="prod""#));
        assert!(svg.contains(r#"width="180" height="22" data-subaccount="&lt;dev&gt;""#));
        assert!(svg.contains(r#"width="0" height="22" data-subaccount="qa""#));
        assert!(svg.contains("66.6 %"));
        assert!(!svg.contains("<dev>"));
    }

    #[test]
    fn the_qr_code_is_an_inline_svg_without_the_secret_in_clear() {
        let svg = qr_svg("otpauth://totp/Acme:a%40b.test?secret=JBSWY3DPEHPK3PXP").into_string();
        assert!(svg.starts_with("<svg role=\"img\""));
        assert!(!svg.contains("JBSWY3DPEHPK3PXP"));
        assert!(!svg.contains("<?xml"));
    }
}
