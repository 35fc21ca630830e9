//! The attendance page as a phone shows it: renders a small report, has
//! headless Chromium screenshot it (scripts/html-screenshot.sh, which
//! installs Chromium when missing) and looks at the pixels: the chart's bar
//! colours, one bar per date, and table text below the chart. At a phone's
//! and a laptop's width a probe script measures the layout: nothing wider
//! than the viewport, every column header readable. There is no switch to
//! skip it: a missing or broken browser is a failure.

use std::path::Path;
use std::process::Command;

use chrono::{FixedOffset, NaiveDate, TimeZone, Utc};
use fieldcheck_core::report::render::attendance_html;
use fieldcheck_core::report::{
    AttendanceDay, AttendanceReport, DateTotals, DayStatus, REPORT_SCHEMA_VERSION,
};

const WIDTH: u32 = 412;
const HEIGHT: u32 = 915;
const ON_TIME: [u8; 3] = [0x2e, 0x7d, 0x32];
const LATE: [u8; 3] = [0xf9, 0xa8, 0x25];
const ABSENT: [u8; 3] = [0xc6, 0x28, 0x28];

/// 3 agents × 5 dates; every date has one agent on time, one late and one
/// absent, in turn.
fn sample() -> AttendanceReport {
    let offset = FixedOffset::east_opt(7 * 3600).unwrap();
    let first = NaiveDate::from_ymd_opt(2025, 5, 5).unwrap();
    let statuses = [DayStatus::OnTime, DayStatus::Late, DayStatus::Absent];
    let mut days = Vec::new();
    for (a, agent) in ["agent-ayu", "agent-budi", "agent-citra"]
        .iter()
        .enumerate()
    {
        for d in 0..5u64 {
            let date = first + chrono::Days::new(d);
            let status = statuses[(a + d as usize) % 3];
            let present = status != DayStatus::Absent;
            let minute = if status == DayStatus::Late { 24 } else { 2 };
            let local = |h, m| {
                offset
                    .from_local_datetime(&date.and_hms_opt(h, m, 0).unwrap())
                    .unwrap()
            };
            days.push(AttendanceDay {
                agent: (*agent).into(),
                name: "".into(),
                date,
                time_zone: "Asia/Jakarta",
                status,
                shift_start: chrono::NaiveTime::from_hms_opt(8, 0, 0),
                first_check_in: present.then(|| local(8, minute)),
                site_id: present.then(|| "site-kemang".into()),
                last_check_out: present.then(|| local(17, 5)),
                check_out_site_id: present.then(|| "site-kemang".into()),
                minutes_late: present.then_some(if minute > 10 { 14 } else { 0 }),
                missing_check_out: false,
                rejected: Default::default(),
                rejected_total: 0,
                // One late day carries a clock-skew badge in its status cell.
                clock_skew: u32::from(status == DayStatus::Late && a == 1),
                review: None,
                event_reviews: Vec::new(),
                open_visit: false,
            });
        }
    }
    let totals = (0..5u64)
        .map(|d| DateTotals {
            date: first + chrono::Days::new(d),
            on_time: 1,
            late: 1,
            absent: 1,
            unscheduled: 0,
            pending: 0,
        })
        .collect();
    AttendanceReport {
        report: "attendance",
        schema_version: REPORT_SCHEMA_VERSION,
        from: first,
        to: first + chrono::Days::new(4),
        agent: None,
        generated_at: Utc.with_ymd_and_hms(2025, 5, 10, 0, 0, 0).unwrap(),
        days,
        totals,
    }
}

struct Image {
    width: u32,
    height: u32,
    /// RGB, row by row.
    rgb: Vec<u8>,
}

impl Image {
    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = 3 * (y as usize * self.width as usize + x as usize);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Screenshots `html` at WIDTH×HEIGHT and decodes the PNG.
fn screenshot(html: &str) -> Image {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let png_path = dir.path().join("report.png");
    std::fs::write(&page, html).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/html-screenshot.sh");
    let started = std::time::Instant::now();
    let output = Command::new("bash")
        .arg(&script)
        .arg(&page)
        .arg(&png_path)
        .arg(format!("{WIDTH}x{HEIGHT}"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{} failed ({}).\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("screenshot took {:?}", started.elapsed());

    let mut decoder = png::Decoder::new(std::fs::File::open(&png_path).unwrap());
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    let rgb = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Image {
        width: info.width,
        height: info.height,
        rgb,
    }
}

/// Everything the screenshot of `sample()` must show; the problems found.
fn problems(img: &Image) -> Vec<String> {
    let mut problems = Vec::new();
    if (img.width, img.height) != (WIDTH, HEIGHT) {
        problems.push(format!(
            "screenshot is {}x{}, asked for {WIDTH}x{HEIGHT}",
            img.width, img.height
        ));
        return problems;
    }
    // Exact colours: the bar interiors are flat fills. A legend swatch alone
    // is about 13×13 px, so 1,500 px means real bars (each segment is about
    // 36×68 px at this width).
    let mut chart_bottom = 0;
    for (name, colour) in [("on time", ON_TIME), ("late", LATE), ("absent", ABSENT)] {
        let mut count = 0;
        for y in 0..img.height {
            for x in 0..img.width {
                if img.pixel(x, y) == colour {
                    count += 1;
                }
            }
        }
        eprintln!("{name}: {count} px");
        if count < 1_500 {
            problems.push(format!("only {count} px of the {name} bar colour"));
        }
    }
    // The bottom of the green (bottom) bar segments: the lowest row with a
    // long run of green, which a legend swatch does not have.
    for y in 0..img.height {
        let green = (0..img.width)
            .filter(|&x| img.pixel(x, y) == ON_TIME)
            .count();
        if green >= 5 * 20 {
            chart_bottom = y;
        }
    }
    if chart_bottom == 0 {
        problems.push("no row of green bars".into());
        return problems;
    }
    // One bar per date: five separate green runs just above the axis.
    let y = chart_bottom - 3;
    let mut runs = 0;
    let mut inside = false;
    for x in 0..img.width {
        let green = img.pixel(x, y) == ON_TIME;
        if green && !inside {
            runs += 1;
        }
        inside = green;
    }
    eprintln!("chart bottom y={chart_bottom}, {runs} green runs at y={y}");
    if runs != 5 {
        problems.push(format!(
            "{runs} green bars in row {y}, expected one per date (5)"
        ));
    }
    // Stacking: above the green of the first bar comes orange, then red.
    let x = (0..img.width)
        .find(|&x| img.pixel(x, y) == ON_TIME)
        .unwrap_or(0)
        + 5;
    let mut order: Vec<[u8; 3]> = (0..chart_bottom)
        .rev()
        .map(|y| img.pixel(x, y))
        .filter(|p| [ON_TIME, LATE, ABSENT].contains(p))
        .collect();
    order.dedup();
    if order != [ON_TIME, LATE, ABSENT] {
        problems.push(format!(
            "bar at x={x} is not stacked on time / late / absent from the bottom"
        ));
    }
    // The table: dark text below the chart and its legend (on a phone the
    // first rows of the table fit on the first screen).
    let text_top = chart_bottom + 60;
    let mut dark = 0;
    for y in text_top..img.height {
        for x in 0..img.width {
            let [r, g, b] = img.pixel(x, y);
            if u32::from(r) + u32::from(g) + u32::from(b) < 3 * 100 {
                dark += 1;
            }
        }
    }
    eprintln!("{dark} dark px below y={text_top}");
    if dark < 2_000 {
        problems.push(format!(
            "only {dark} dark px below y={text_top}: the table of days did not render"
        ));
    }
    problems
}

#[test]
fn attendance_page_renders_on_a_phone() {
    let html = attendance_html(&sample());
    let found = problems(&screenshot(&html));
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The checks above can fail: without the chart's SVG they must.
#[test]
fn pixel_checks_notice_a_missing_chart() {
    let html = attendance_html(&sample());
    let start = html.find("<svg id=\"chart\"").expect("chart present");
    let end = html[start..].find("</svg>").unwrap() + start + "</svg>".len();
    let without_chart = format!("{}{}", &html[..start], &html[end..]);
    let found = problems(&screenshot(&without_chart));
    assert!(
        found.iter().any(|p| p.contains("bar colour")),
        "pixel checks passed without a chart: {found:?}"
    );
}

/// Measures the page in the browser at `width` px: the document's scroll
/// width against the viewport, and each table header, which must be inside
/// the viewport and every scrolling box around it, or (on a phone, where a
/// table becomes cards) label its row's cell, which must be.
///
/// The page is shown unmodified (its CSP forbids scripts) in an iframe of
/// exactly that width: headless Chromium's window is at least 500 px wide,
/// an iframe's viewport is what its width says. The probe runs in the
/// wrapper page, which shares the `srcdoc` frame's origin.
const LAYOUT_PROBE: &str = r#"<script>
const frame = document.getElementById('page');
frame.addEventListener('load', () => {
  const win = frame.contentWindow, doc = frame.contentDocument;
  const W = win.innerWidth;
  const clip = (el) => {
    let l = 0, r = W;
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (win.getComputedStyle(a).overflowX !== 'visible' && a !== doc.documentElement && a !== doc.body) {
        const b = a.getBoundingClientRect();
        l = Math.max(l, b.left); r = Math.min(r, b.right);
      }
    }
    return [l, r];
  };
  const shown = (el) => {
    const b = el.getBoundingClientRect();
    const [l, r] = clip(el);
    return b.width > 2 && b.height > 2 && b.left >= l - 0.5 && b.right <= r + 0.5;
  };
  const hidden = [];
  for (const table of doc.querySelectorAll('table')) {
    const row = table.querySelector('tbody tr');
    table.querySelectorAll('thead th').forEach((th, i) => {
      const name = th.textContent.trim();
      const cell = row && row.cells[i];
      const label = cell && win.getComputedStyle(cell, '::before').content;
      const viaCell = cell && label === JSON.stringify(name) && shown(cell);
      if (!shown(th) && !viaCell) hidden.push(table.id + ': ' + name);
    });
  }
  const out = document.createElement('pre');
  out.id = 'layout-probe';
  out.textContent = JSON.stringify({
    inner_width: W,
    scroll_width: doc.documentElement.scrollWidth,
    headers: doc.querySelectorAll('thead th').length,
    hidden,
  });
  document.body.appendChild(out);
});
</script>"#;

/// The probe's answer for `html` at `width`×900.
fn layout(html: &str, width: u32) -> serde_json::Value {
    let srcdoc = html.replace('&', "&amp;").replace('"', "&quot;");
    let wrapper = format!(
        "<!DOCTYPE html><html><body style=\"margin:0\">\
         <iframe id=\"page\" style=\"width:{width}px;height:900px;border:0;display:block\" srcdoc=\"{srcdoc}\"></iframe>\
         {LAYOUT_PROBE}</body></html>"
    );
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("probe.html");
    let dom = dir.path().join("dom.html");
    std::fs::write(&page, wrapper).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/html-screenshot.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg(&page)
        .arg(&dom)
        .arg(format!("{}x1000", width + 100))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dom = std::fs::read_to_string(&dom).unwrap();
    let marker = "<pre id=\"layout-probe\">";
    let start = dom.find(marker).expect("the probe ran") + marker.len();
    let end = dom[start..].find("</pre>").unwrap() + start;
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap()
}

/// Layout problems of `html` at a phone's and a laptop's width.
fn layout_problems(html: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for width in [412, 1280] {
        let found = layout(html, width);
        eprintln!("{width} px: {found}");
        let (inner, scroll) = (
            found["inner_width"].as_u64(),
            found["scroll_width"].as_u64(),
        );
        if inner != Some(u64::from(width)) || scroll > inner {
            problems.push(format!(
                "{width} px: the page is {scroll:?} px wide in a {inner:?} px viewport"
            ));
        }
        if found["headers"].as_u64() != Some(9) {
            problems.push(format!(
                "{width} px: {} headers, expected 9",
                found["headers"]
            ));
        }
        for name in found["hidden"].as_array().into_iter().flatten() {
            problems.push(format!("{width} px: column header {name} is not visible"));
        }
    }
    problems
}

#[test]
fn attendance_page_fits_a_phone_and_a_laptop_with_every_header_visible() {
    let found = layout_problems(&attendance_html(&sample()));
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The layout checks can fail: a table wider than the page, with its last
/// columns scrolled out of view, must be noticed at both widths.
#[test]
fn layout_checks_notice_a_cut_off_column() {
    let html = attendance_html(&sample()).replace(
        "<table id=\"days\" class=\"cards\">",
        "<table id=\"days\" style=\"min-width:1500px\">",
    );
    let found = layout_problems(&html);
    for width in [412, 1280] {
        assert!(
            found
                .iter()
                .any(|p| p.starts_with(&format!("{width} px: column header \"days: Review\""))),
            "{width} px: {found:?}"
        );
    }
}
