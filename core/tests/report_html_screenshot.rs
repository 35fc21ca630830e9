//! The attendance page as a phone shows it: renders a small report, has
//! headless Chromium screenshot it (scripts/html-screenshot.sh, which
//! installs Chromium when missing) and looks at the pixels: the chart's bar
//! colours, one bar per date, and table text below the chart.
//!
//! Set FIELDCHECK_SKIP_BROWSER=1 to skip it where no browser can run; a
//! missing or broken browser is otherwise a failure.

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
                review: None,
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

fn browser_skipped() -> bool {
    if std::env::var("FIELDCHECK_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPED: FIELDCHECK_SKIP_BROWSER=1, the HTML report was NOT\n\
             !!! rendered in a browser and its screenshot was NOT checked.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return true;
    }
    false
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
        "{} failed ({}); set FIELDCHECK_SKIP_BROWSER=1 only where no browser can run.\n{}",
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
    if browser_skipped() {
        return;
    }
    let html = attendance_html(&sample());
    let found = problems(&screenshot(&html));
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The checks above can fail: without the chart's SVG they must.
#[test]
fn pixel_checks_notice_a_missing_chart() {
    if browser_skipped() {
        return;
    }
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
