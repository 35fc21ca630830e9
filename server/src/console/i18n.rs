//! The console's languages (issue 13): English and Bahasa Indonesia, the
//! source policies' first market. A typed catalog rather than runtime
//! message files: a missing translation is a compile error, and the
//! templates stay checked by the compiler end to end. The language comes
//! from the `fieldcheck_lang` cookie the switch sets, else from
//! `Accept-Language` (q-values honoured), else English.

use axum::http::{HeaderMap, header};

pub const LANG_COOKIE: &str = "fieldcheck_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Id,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Id];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Id => "id",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            // "in" is the pre-1989 code some Android versions still send.
            "id" | "in" => Some(Lang::Id),
            _ => None,
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::Id => &ID,
        }
    }

    /// The cookie's choice, else the best of `Accept-Language` we speak.
    /// Parsed by hand: a comma list of tags with optional `;q=`, no more.
    pub fn negotiate(headers: &HeaderMap) -> Lang {
        if let Some(lang) = super::cookie_value(headers, LANG_COOKIE).and_then(Lang::parse) {
            return lang;
        }
        let mut best: Option<(f32, Lang)> = None;
        for value in headers
            .get_all(header::ACCEPT_LANGUAGE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            for item in value.split(',') {
                let mut parts = item.split(';');
                let tag = parts.next().unwrap_or("").trim();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                if let Some(lang) = Lang::parse(tag)
                    && q > 0.0
                    && best.is_none_or(|(b, _)| q > b)
                {
                    best = Some((q, lang));
                }
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }
}

/// Every word the console shows, per language.
pub struct Text {
    pub lang: Lang,
    /// Name of the language in itself, for the switch.
    pub language_name: &'static str,
    pub date_format: &'static str,
    pub decimal_comma: bool,
    pub console: &'static str,
    pub nav_label: &'static str,
    pub review_queue: &'static str,
    pub reports: &'static str,
    pub devices: &'static str,
    pub flags: &'static str,
    pub sites: &'static str,
    pub requests: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub user: &'static str,
    pub password: &'static str,
    pub language: &'static str,
    pub wrong_password: &'static str,
    pub enter_user: &'static str,
    pub locked_out: fn(u64) -> String,
    pub agent: &'static str,
    pub site: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub reason: &'static str,
    pub any: &'static str,
    pub filter: &'static str,
    pub needing_decision: &'static str,
    pub counts_label: &'static str,
    pub nothing_needed: &'static str,
    pub queue_caption: &'static str,
    pub select: &'static str,
    pub select_day: fn(&str, &str) -> String,
    pub date: &'static str,
    pub in_out: &'static str,
    pub why: &'static str,
    pub showing_newest: fn(usize, usize) -> String,
    pub note: &'static str,
    pub approve: &'static str,
    pub reject: &'static str,
    pub approve_selected: &'static str,
    pub recorded: fn(usize) -> String,
    pub late: fn(u32) -> String,
    pub absent: &'static str,
    pub on_time: &'static str,
    pub unscheduled: &'static str,
    pub pending: &'static str,
    pub missing_check_out: &'static str,
    pub rejected_reason: &'static str,
    pub clock_skew: &'static str,
    pub agent_day: fn(&str, &str) -> String,
    pub times_in: fn(&str) -> String,
    pub timeline: &'static str,
    pub no_events: &'static str,
    pub time: &'static str,
    pub kind: &'static str,
    pub verdict: &'static str,
    pub position: &'static str,
    pub accuracy: &'static str,
    pub reasons: &'static str,
    pub source: &'static str,
    pub accepted: &'static str,
    pub rejected: &'static str,
    pub this_server: &'static str,
    pub device_n: fn(&str) -> String,
    pub decisions: &'static str,
    pub no_decision: &'static str,
    pub whole_day: &'static str,
    pub event_n: fn(&str) -> String,
    pub by_at: fn(&str, &str) -> String,
    pub approved: &'static str,
    pub rejected_decision: &'static str,
    pub decide_day: &'static str,
    pub decide_whole_day: &'static str,
    pub decide_event: &'static str,
    pub decide_the: fn(&str, &str) -> String,
    pub retained_locations: &'static str,
    pub retained_help: &'static str,
    pub reason_for: fn(&str, &str) -> String,
    pub show_location: &'static str,
    pub show_location_of: fn(&str, &str) -> String,
    pub views_logged: &'static str,
    pub location_shown: fn(&str, &str, f64) -> String,
    pub write_note: &'static str,
    pub choose_decision: &'static str,
    pub say_why: &'static str,
    pub select_one: &'static str,
    pub nothing_decided: &'static str,
    pub not_found: &'static str,
    pub nothing_here: &'static str,
    pub refused: &'static str,
    pub stale_form: &'static str,
    pub back_to_queue: &'static str,
    pub bad_dates: &'static str,
    pub dates_help: &'static str,
    pub bad_period: &'static str,
    pub period_help: &'static str,
    pub show: &'static str,
    pub attendance: &'static str,
    pub sales: &'static str,
    pub download_csv: &'static str,
    pub download_json: &'static str,
    pub status: &'static str,
    pub review: &'static str,
    pub leads: &'static str,
    pub conversion: &'static str,
    pub closings: &'static str,
    pub premium: &'static str,
    pub synced_at: fn(&str) -> String,
    pub end_now: &'static str,
    pub geojson_file: &'static str,
    pub under_flag: &'static str,
    pub ended: &'static str,
    pub end_flag_of: fn(&str) -> String,
    pub device: &'static str,
    pub platform: &'static str,
    pub enrolled: &'static str,
    pub last_sync: &'static str,
    pub acked_seq: &'static str,
    pub devices_help: &'static str,
    pub no_devices: &'static str,
    pub chain: &'static str,
    pub verify_now: &'static str,
    pub never_verified: &'static str,
    pub last_check_intact: fn(&str, i64) -> String,
    pub last_check_broken: fn(&str) -> String,
    pub verified_through: fn(i64, &str) -> String,
    pub not_verified_yet: &'static str,
    pub admin_verifies: &'static str,
    pub revoked: &'static str,
    pub active: &'static str,
    pub revoke: &'static str,
    pub never: &'static str,
    pub admin_revokes: &'static str,
    pub audit_flags: &'static str,
    pub flags_help: &'static str,
    pub no_flags: &'static str,
    pub purpose: &'static str,
    pub scope: &'static str,
    pub set_by: &'static str,
    pub until: &'static str,
    pub until_utc: &'static str,
    pub set_a_flag: &'static str,
    pub set_flag: &'static str,
    pub until_help: &'static str,
    pub erased: &'static str,
    pub export_geojson: &'static str,
    pub no_sites: &'static str,
    pub name: &'static str,
    pub fence: &'static str,
    pub agents: &'static str,
    pub any_agent: &'static str,
    pub import_sites: &'static str,
    pub geojson_label: &'static str,
    pub import: &'static str,
    pub admin_imports: &'static str,
    pub nothing_imported: &'static str,
    pub subject_requests: &'static str,
    pub subject: &'static str,
    pub received: &'static str,
    pub due: &'static str,
    pub answered_col: &'static str,
    pub overdue: &'static str,
    pub open: &'static str,
    pub answered: &'static str,
    pub no_requests: &'static str,
    pub imported: fn(usize, usize) -> String,
    pub revoke_device: fn(&str) -> String,
    pub circle: fn(f64) -> String,
    pub polygons: fn(usize) -> String,
    pub request_counts: fn(usize, usize, usize) -> String,
}

pub static EN: Text = Text {
    lang: Lang::En,
    language_name: "English",
    date_format: "%Y-%m-%d",
    decimal_comma: false,
    console: "fieldcheck console",
    nav_label: "Console",
    review_queue: "Review queue",
    reports: "Reports",
    devices: "Devices",
    flags: "Flags",
    sites: "Sites",
    requests: "Requests",
    sign_in: "Sign in",
    sign_out: "Sign out",
    user: "User",
    password: "Password",
    language: "Language",
    wrong_password: "Wrong user or password.",
    enter_user: "Enter a user and a password.",
    locked_out: |m| format!("Too many failed sign-ins. Try again in {m} minutes."),
    agent: "Agent",
    site: "Site",
    from: "From",
    to: "To",
    reason: "Reason",
    any: "Any",
    filter: "Filter",
    needing_decision: "Needing a decision: ",
    counts_label: "Counts per reason",
    nothing_needed: "Nothing needs a decision for these filters.",
    queue_caption: "Agent-days needing a decision, newest first",
    select: "Select",
    select_day: |agent, date| format!("Select {agent} {date}"),
    date: "Date",
    in_out: "In / out",
    why: "Why",
    showing_newest: |shown, total| {
        format!("Showing the newest {shown} of {total}; narrow the filters to see the rest.")
    },
    note: "Note",
    approve: "Approve",
    reject: "Reject",
    approve_selected: "Approve selected",
    recorded: |n| format!("Recorded {n} decision{}.", if n == 1 { "" } else { "s" }),
    late: |m| format!("late {m} min"),
    absent: "absent",
    on_time: "on time",
    unscheduled: "unscheduled",
    pending: "pending",
    missing_check_out: "missing check-out",
    rejected_reason: "rejected: ",
    clock_skew: "clock skew",
    agent_day: |agent, date| format!("Agent {agent}, {date}"),
    times_in: |zone| format!("Times in {zone}."),
    timeline: "Timeline",
    no_events: "No check-in or check-out recorded on this day.",
    time: "Time",
    kind: "Kind",
    verdict: "Verdict",
    position: "Position",
    accuracy: "Accuracy",
    reasons: "Reasons",
    source: "Source",
    accepted: "accepted",
    rejected: "rejected",
    this_server: "this server",
    device_n: |d| format!("device {d}"),
    decisions: "Decisions",
    no_decision: "No decision yet.",
    whole_day: "whole day",
    event_n: |e| format!("event {e}"),
    by_at: |who, at| format!("by {who} at {at}"),
    approved: "approved",
    rejected_decision: "rejected",
    decide_day: "Decide the day",
    decide_whole_day: "Decide the whole day",
    decide_event: "Decide this event",
    decide_the: |kind, at| format!("Decide the {kind} at {at}"),
    retained_locations: "Retained locations",
    retained_help: "An audit flag kept the coordinates of these fixes. Seeing them needs a reason, and every view is logged.",
    reason_for: |kind, at| format!("Reason for the {kind} at {at}"),
    show_location: "Show location",
    show_location_of: |kind, at| format!("Show the location of the {kind} at {at}"),
    views_logged: "Views logged",
    location_shown: |at, place, accuracy| {
        format!(
            "Location kept under an audit flag for the fix at {at}: {place} (±{accuracy:.0} m). This view is logged."
        )
    },
    write_note: "Write a note for the decision.",
    choose_decision: "Choose Approve or Reject.",
    say_why: "Say why you need to see the location.",
    select_one: "Select at least one day.",
    nothing_decided: "Nothing decided",
    not_found: "Not found",
    nothing_here: "There is nothing here you can see.",
    refused: "Refused",
    stale_form: "The form was out of date. Reload the page and try again.",
    back_to_queue: "Back to the review queue",
    bad_dates: "Bad dates",
    dates_help: "Dates are YYYY-MM-DD.",
    bad_period: "Bad period",
    period_help: "Choose a period of at most a year, the first date not after the last.",
    show: "Show",
    attendance: "Attendance",
    sales: "Sales",
    download_csv: "Download CSV",
    download_json: "Download JSON",
    status: "Status",
    review: "Review",
    leads: "Leads",
    conversion: "Conversion",
    closings: "Closings",
    premium: "Premium",
    synced_at: |at| format!("synced {at}"),
    end_now: "End now",
    geojson_file: "GeoJSON file",
    under_flag: "under an audit flag",
    ended: "ended early",
    end_flag_of: |scope| format!("End the flag on {scope} now"),
    device: "Device",
    platform: "Platform",
    enrolled: "Enrolled",
    last_sync: "Last sync",
    acked_seq: "Acked seq",
    devices_help: "Each batch is checked link by link as it arrives (a batch that breaks a device's chain is refused), which extends the last full check; the full check also recomputes every row derived from the imported events and compares the configuration with its feeds.",
    no_devices: "No device is enrolled for your agents.",
    chain: "Chain",
    verify_now: "Verify now",
    never_verified: "No full check has run on this store yet.",
    last_check_intact: |at, events| format!("Last full check {at}: intact ({events} events)."),
    last_check_broken: |at| format!("Last full check {at}: BROKEN."),
    verified_through: |seq, at| format!("verified through event {seq}, {at}"),
    not_verified_yet: "not verified yet",
    admin_verifies: "Only an admin can run a full check.",
    revoked: "revoked",
    active: "active",
    revoke: "Revoke",
    never: "never",
    admin_revokes: "Only an admin can revoke a device.",
    audit_flags: "Audit flags",
    flags_help: "While a flag is in force, the fixes it covers keep their coordinates (until the flag's retention ends); every other fix is judged and dropped.",
    no_flags: "No flag in force.",
    purpose: "Purpose",
    scope: "Scope",
    set_by: "Set by",
    until: "Until",
    until_utc: "Until (UTC)",
    set_a_flag: "Set a flag",
    set_flag: "Set flag",
    until_help: "Until: a date and time, YYYY-MM-DDTHH:MM (UTC).",
    erased: "(erased)",
    export_geojson: "Export as GeoJSON",
    no_sites: "No site yet.",
    name: "Name",
    fence: "Fence",
    agents: "Agents",
    any_agent: "any",
    import_sites: "Import sites",
    geojson_label: "or paste a GeoJSON FeatureCollection",
    import: "Import",
    admin_imports: "Only an admin can import sites.",
    nothing_imported: "Nothing imported: ",
    subject_requests: "Data-subject requests",
    subject: "Subject",
    received: "Received",
    due: "Due",
    answered_col: "Answered",
    overdue: "overdue",
    open: "open",
    answered: "answered",
    no_requests: "No request received.",
    imported: |added, replaced| format!("Imported: {added} added, {replaced} replaced."),
    revoke_device: |d| format!("Revoke device {d}"),
    circle: |r| format!("circle, {r:.0} m"),
    polygons: |n| format!("polygon ×{n}"),
    request_counts: |overdue, soon, all| {
        format!("Overdue: {overdue} · due within 7 days: {soon} · all: {all}")
    },
};

pub static ID: Text = Text {
    lang: Lang::Id,
    language_name: "Bahasa Indonesia",
    date_format: "%d/%m/%Y",
    decimal_comma: true,
    console: "konsol fieldcheck",
    nav_label: "Konsol",
    review_queue: "Antrean tinjauan",
    reports: "Laporan",
    devices: "Perangkat",
    flags: "Penanda",
    sites: "Lokasi",
    requests: "Permintaan",
    sign_in: "Masuk",
    sign_out: "Keluar",
    user: "Pengguna",
    password: "Kata sandi",
    language: "Bahasa",
    wrong_password: "Pengguna atau kata sandi salah.",
    enter_user: "Isi pengguna dan kata sandi.",
    locked_out: |m| {
        format!("Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam {m} menit.")
    },
    agent: "Agen",
    site: "Lokasi",
    from: "Dari",
    to: "Sampai",
    reason: "Alasan",
    any: "Semua",
    filter: "Saring",
    needing_decision: "Perlu keputusan: ",
    counts_label: "Jumlah per alasan",
    nothing_needed: "Tidak ada yang perlu diputuskan untuk saringan ini.",
    queue_caption: "Hari agen yang perlu keputusan, terbaru lebih dulu",
    select: "Pilih",
    select_day: |agent, date| format!("Pilih {agent} {date}"),
    date: "Tanggal",
    in_out: "Masuk / pulang",
    why: "Sebab",
    showing_newest: |shown, total| {
        format!(
            "Menampilkan {shown} terbaru dari {total}; persempit saringan untuk melihat sisanya."
        )
    },
    note: "Catatan",
    approve: "Setujui",
    reject: "Tolak",
    approve_selected: "Setujui yang dipilih",
    recorded: |n| format!("{n} keputusan tercatat."),
    late: |m| format!("terlambat {m} mnt"),
    absent: "tidak hadir",
    on_time: "tepat waktu",
    unscheduled: "di luar jadwal",
    pending: "berjalan",
    missing_check_out: "tanpa absen pulang",
    rejected_reason: "ditolak: ",
    clock_skew: "jam perangkat menyimpang",
    agent_day: |agent, date| format!("Agen {agent}, {date}"),
    times_in: |zone| format!("Waktu dalam {zone}."),
    timeline: "Lini waktu",
    no_events: "Tidak ada absen masuk atau pulang pada hari ini.",
    time: "Waktu",
    kind: "Jenis",
    verdict: "Putusan",
    position: "Posisi",
    accuracy: "Akurasi",
    reasons: "Alasan",
    source: "Sumber",
    accepted: "diterima",
    rejected: "ditolak",
    this_server: "server ini",
    device_n: |d| format!("perangkat {d}"),
    decisions: "Keputusan",
    no_decision: "Belum ada keputusan.",
    whole_day: "sehari penuh",
    event_n: |e| format!("kejadian {e}"),
    by_at: |who, at| format!("oleh {who} pada {at}"),
    approved: "disetujui",
    rejected_decision: "ditolak",
    decide_day: "Putuskan hari ini",
    decide_whole_day: "Putuskan sehari penuh",
    decide_event: "Putuskan kejadian ini",
    decide_the: |kind, at| format!("Putuskan {kind} pukul {at}"),
    retained_locations: "Lokasi yang disimpan",
    retained_help: "Sebuah penanda audit menyimpan koordinat titik-titik ini. Melihatnya perlu alasan, dan setiap tampilan dicatat.",
    reason_for: |kind, at| format!("Alasan untuk {kind} pukul {at}"),
    show_location: "Tampilkan lokasi",
    show_location_of: |kind, at| format!("Tampilkan lokasi {kind} pukul {at}"),
    views_logged: "Tampilan yang dicatat",
    location_shown: |at, place, accuracy| {
        format!(
            "Lokasi yang disimpan di bawah penanda audit untuk titik pukul {at}: {place} (±{accuracy:.0} m). Tampilan ini dicatat."
        )
    },
    write_note: "Tulis catatan untuk keputusan ini.",
    choose_decision: "Pilih Setujui atau Tolak.",
    say_why: "Sebutkan mengapa Anda perlu melihat lokasinya.",
    select_one: "Pilih setidaknya satu hari.",
    nothing_decided: "Tidak ada yang diputuskan",
    not_found: "Tidak ditemukan",
    nothing_here: "Tidak ada yang dapat Anda lihat di sini.",
    refused: "Ditolak",
    stale_form: "Formulir sudah kedaluwarsa. Muat ulang halaman dan coba lagi.",
    back_to_queue: "Kembali ke antrean tinjauan",
    bad_dates: "Tanggal tidak valid",
    dates_help: "Tanggal ditulis TTTT-BB-HH.",
    bad_period: "Periode tidak valid",
    period_help: "Pilih periode paling lama satu tahun, tanggal awal tidak setelah tanggal akhir.",
    show: "Tampilkan",
    attendance: "Kehadiran",
    sales: "Penjualan",
    download_csv: "Unduh CSV",
    download_json: "Unduh JSON",
    status: "Status",
    review: "Tinjauan",
    leads: "Prospek",
    conversion: "Konversi",
    closings: "Penutupan",
    premium: "Premi",
    synced_at: |at| format!("disinkron {at}"),
    end_now: "Akhiri sekarang",
    geojson_file: "Berkas GeoJSON",
    under_flag: "di bawah penanda audit",
    ended: "diakhiri lebih awal",
    end_flag_of: |scope| format!("Akhiri penanda pada {scope} sekarang"),
    device: "Perangkat",
    platform: "Platform",
    enrolled: "Terdaftar",
    last_sync: "Sinkron terakhir",
    acked_seq: "Urutan diterima",
    devices_help: "Setiap kiriman diperiksa mata rantai demi mata rantai saat tiba (kiriman yang memutus rantai perangkat ditolak), yang memperpanjang pemeriksaan penuh terakhir; pemeriksaan penuh juga menghitung ulang setiap baris turunan dari peristiwa yang diimpor dan membandingkan konfigurasi dengan umpannya.",
    no_devices: "Belum ada perangkat terdaftar untuk agen Anda.",
    chain: "Rantai",
    verify_now: "Periksa sekarang",
    never_verified: "Belum ada pemeriksaan penuh pada penyimpanan ini.",
    last_check_intact: |at, events| {
        format!("Pemeriksaan penuh terakhir {at}: utuh ({events} peristiwa).")
    },
    last_check_broken: |at| format!("Pemeriksaan penuh terakhir {at}: RUSAK."),
    verified_through: |seq, at| format!("terverifikasi sampai peristiwa {seq}, {at}"),
    not_verified_yet: "belum diverifikasi",
    admin_verifies: "Hanya admin yang dapat menjalankan pemeriksaan penuh.",
    revoked: "dicabut",
    active: "aktif",
    revoke: "Cabut",
    never: "belum pernah",
    admin_revokes: "Hanya admin yang dapat mencabut perangkat.",
    audit_flags: "Penanda audit",
    flags_help: "Selama penanda berlaku, titik yang dicakupnya menyimpan koordinatnya (sampai masa simpan penanda berakhir); titik lain dinilai lalu dibuang.",
    no_flags: "Tidak ada penanda yang berlaku.",
    purpose: "Tujuan",
    scope: "Cakupan",
    set_by: "Dipasang oleh",
    until: "Sampai",
    until_utc: "Sampai (UTC)",
    set_a_flag: "Pasang penanda",
    set_flag: "Pasang",
    until_help: "Sampai: tanggal dan jam, TTTT-BB-HHTjj:mm (UTC).",
    erased: "(dihapus)",
    export_geojson: "Ekspor sebagai GeoJSON",
    no_sites: "Belum ada lokasi.",
    name: "Nama",
    fence: "Batas",
    agents: "Agen",
    any_agent: "siapa saja",
    import_sites: "Impor lokasi",
    geojson_label: "atau tempel GeoJSON FeatureCollection",
    import: "Impor",
    admin_imports: "Hanya admin yang dapat mengimpor lokasi.",
    nothing_imported: "Tidak ada yang diimpor: ",
    subject_requests: "Permintaan subjek data",
    subject: "Subjek",
    received: "Diterima",
    due: "Tenggat",
    answered_col: "Dijawab",
    overdue: "lewat tenggat",
    open: "terbuka",
    answered: "dijawab",
    no_requests: "Belum ada permintaan.",
    imported: |added, replaced| format!("Diimpor: {added} ditambahkan, {replaced} diganti."),
    revoke_device: |d| format!("Cabut perangkat {d}"),
    circle: |r| format!("lingkaran, {r:.0} m"),
    polygons: |n| format!("poligon ×{n}"),
    request_counts: |overdue, soon, all| {
        format!("Lewat tenggat: {overdue} · tenggat dalam 7 hari: {soon} · semua: {all}")
    },
};

impl Text {
    /// A date as people of this language write it.
    pub fn date(&self, date: chrono::NaiveDate) -> String {
        date.format(self.date_format).to_string()
    }

    /// A decimal string from the core ("1500000.50") grouped and pointed as
    /// this language writes numbers ("1,500,000.50" / "1.500.000,50").
    pub fn decimal(&self, text: &str) -> String {
        let (sign, digits) = text
            .strip_prefix('-')
            .map_or(("", text), |rest| ("-", rest));
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let (group, point) = if self.decimal_comma {
            ('.', ',')
        } else {
            (',', '.')
        };
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(group);
            }
            grouped.push(c);
        }
        if fraction.is_empty() {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped}{point}{fraction}")
        }
    }

    /// A share as a whole percentage.
    pub fn percent(&self, share: f64) -> String {
        match self.lang {
            Lang::En => format!("{:.0} %", share * 100.0),
            Lang::Id => format!("{:.0}%", share * 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn the_cookie_wins_then_the_best_accept_language_then_english() {
        assert_eq!(Lang::negotiate(&headers(&[])), Lang::En);
        assert_eq!(
            Lang::negotiate(&headers(&[("accept-language", "id-ID,id;q=0.9,en;q=0.8")])),
            Lang::Id
        );
        assert_eq!(
            Lang::negotiate(&headers(&[(
                "accept-language",
                "fr-FR, en;q=0.5, id;q=0.7"
            )])),
            Lang::Id
        );
        assert_eq!(
            Lang::negotiate(&headers(&[("accept-language", "de, id;q=0")])),
            Lang::En
        );
        assert_eq!(
            Lang::negotiate(&headers(&[
                ("accept-language", "id"),
                ("cookie", "fieldcheck_session=x; fieldcheck_lang=en")
            ])),
            Lang::En
        );
    }

    #[test]
    fn numbers_and_dates_follow_the_language() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(EN.date(d), "2026-03-09");
        assert_eq!(ID.date(d), "09/03/2026");
        assert_eq!(EN.decimal("1500000.50"), "1,500,000.50");
        assert_eq!(ID.decimal("1500000.50"), "1.500.000,50");
        assert_eq!(ID.decimal("-200"), "-200");
        assert_eq!(EN.decimal("123456"), "123,456");
        assert_eq!(EN.percent(0.5), "50 %");
        assert_eq!(ID.percent(0.5), "50%");
    }
}
