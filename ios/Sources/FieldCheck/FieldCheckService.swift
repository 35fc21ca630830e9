import Dispatch
import Foundation
// Apps `import FieldCheck` and see the core's records and errors too.
@_exported import FieldCheckCore

/// The app's door to the core: one async method per app action, for one
/// signed-in actor.
///
/// Every core call blocks on SQLite, so each runs on this service's own
/// serial queue, never on the caller's thread (the main thread, or a thread
/// of Swift's cooperative pool). Calls made through one service run one at
/// a time, in the order they were made; several services may share one
/// `FieldCheck` store object (the core is thread-safe).
///
/// The service holds no state of its own besides the actor and the source:
/// every decision (consent, flags, verdicts, roles) is the core's.
public final class FieldCheckService: Sendable {
    /// The signed-in person every call is made as.
    public let actor: FieldCheckCore.Actor
    /// The store. Open it once per database file and share it.
    public let core: FieldCheck
    private let location: any LocationSource
    private let fixTimeout: TimeInterval
    private let clock: @Sendable () -> Date
    private let queue: DispatchQueue
    /// Signalled after each check-in and check-out (the core appends every
    /// judged fix to the outbox): wakes a `BackgroundSync` on this service.
    public let outboxChanged = SyncSignal()

    /// - Parameters:
    ///   - fixTimeout: seconds a check-in waits for a fix.
    ///   - clock: the device's current time, passed to the core as `now`.
    public init(
        core: FieldCheck,
        actor: FieldCheckCore.Actor,
        location: any LocationSource,
        fixTimeout: TimeInterval = 15,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.core = core
        self.actor = actor
        self.location = location
        self.fixTimeout = fixTimeout
        self.clock = clock
        queue = DispatchQueue(label: "app.fieldcheck.service", qos: .userInitiated)
    }

    /// Opens (or creates) the store at `path` off the caller's thread. A
    /// damaged or foreign file throws `FieldCheckError.StoreUnusable` and is
    /// left untouched.
    public static func openStore(path: String) async throws -> FieldCheck {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try FieldCheck.open(path: path) })
            }
        }
    }

    // MARK: Attendance

    /// Gets one fix from the location source and has the core judge and
    /// record it. A rejected check-in is a result (`accepted == false`, with
    /// reasons), not an error. Throws `LocationError` when there is no fix
    /// (nothing is recorded) and `FieldCheckError` when the core refuses the
    /// call (a malformed fix, a role that may not make it).
    public func checkIn() async throws -> AttendanceEvent {
        try await check(.checkIn)
    }

    /// As `checkIn()`, for leaving.
    public func checkOut() async throws -> AttendanceEvent {
        try await check(.checkOut)
    }

    private func check(_ kind: EventKind) async throws -> AttendanceEvent {
        let fix = try await location.currentFix(timeout: fixTimeout)
        let request = FixRequest(agent: actor.id, kind: kind, fix: fix)
        let event = try await perform { core, actor, now in
            try core.recordFix(submission: FixSubmission(actor: actor, request: request, now: now))
        }
        outboxChanged.signal()
        return event
    }

    /// Attendance events, oldest first. `agent: nil` means everyone's
    /// (supervisors and admins); agents see only their own.
    public func events(agent: String?, from: Date? = nil, to: Date? = nil) async throws -> [AttendanceEvent] {
        try await perform { core, actor, _ in
            try core.events(actor: actor, agent: agent, from: from, to: to)
        }
    }

    // MARK: Consent

    /// The actor's own consent change, made in the app (source `app`).
    /// `policyVersion: nil` records the core's current version.
    @discardableResult
    public func setConsent(_ permission: Permission, granted: Bool, policyVersion: String? = nil) async throws -> ConsentEntry {
        let change = ConsentChange(
            subject: actor.id, permission: permission, granted: granted,
            policyVersion: policyVersion, source: nil
        )
        return try await perform { core, actor, now in
            try core.changeConsent(actor: actor, change: change, now: now)
        }
    }

    /// The latest ledger entry of each permission of the actor.
    public func consentState() async throws -> ConsentState {
        try await perform { core, actor, _ in try core.consentState(actor: actor, agent: actor.id) }
    }

    /// How the actor's location consent stands against the published
    /// privacy policy. While `renewalRequired`, the app asks the agent to
    /// accept the new policy (check-ins are refused with `consentRequired`);
    /// accepting is `setConsent(.location, granted: true)`, which records the
    /// current version.
    public func consentStanding() async throws -> ConsentStanding {
        try await perform { core, actor, _ in try core.consentStanding(actor: actor, agent: actor.id) }
    }

    /// The consent receipt of one of the actor's ledger entries (Kantara CR
    /// v1.1 JSON; its `consentReceiptID` is `entryId`). Without a data
    /// controller set by an admin the core throws `InvalidInput` on
    /// `controller`.
    public func consentReceipt(entryId: String) async throws -> String {
        try await perform { core, actor, _ in try core.consentReceipt(actor: actor, entryId: entryId) }
    }

    /// Everything the store holds about the signed-in agent as one JSON
    /// document (access and portability copy); logged as an access request.
    public func exportMyData() async throws -> String {
        try await perform { core, actor, now in
            try core.exportSubject(actor: actor, subject: DataSubject(kind: .agent, id: actor.id), now: now)
        }
    }

    /// Records a change of what the OS allows (Settings, the system prompt)
    /// as a consent entry with source `osSettings`, at most once per change:
    ///
    /// - `denied` withdraws a granted consent; if it is already withdrawn or
    ///   was never given, nothing is recorded.
    /// - `granted` restores consent only if the latest entry is a withdrawal
    ///   that came from the OS: an OS permission is not consent, so a
    ///   withdrawal made in the app stays until the agent grants in the app.
    ///   The restored entry keeps the withdrawn entry's policy version, so a
    ///   policy that requires renewal is still required.
    /// - `notDetermined` records nothing.
    ///
    /// Returns the new entry, or nil when the ledger already agrees. Calling
    /// it again with the same state records nothing.
    @discardableResult
    public func osPermissionChanged(_ permission: Permission, _ state: OSPermission) async throws -> ConsentEntry? {
        // The rules (what counts as allowing, that the OS may withdraw and
        // restore only what it withdrew) live in the core; this only names
        // the platform state.
        let coreState: OsPermission
        switch state {
        case .notDetermined: return nil
        case .granted: coreState = .granted
        case .approximateOnly: coreState = .approximateOnly
        case .denied: coreState = .denied
        case .restricted: coreState = .restricted
        }
        return try await perform { core, actor, now in
            try core.recordOsPermission(actor: actor, agent: actor.id, permission: permission, state: coreState, now: now)
        }
    }

    // MARK: Push

    /// Stores the APNs device token. The core refuses it
    /// (`FieldCheckError.PermissionDenied`) unless push consent is granted;
    /// withdrawing push consent deletes it.
    public func registerPushToken(_ deviceToken: Data) async throws {
        let token = deviceToken.map { String(format: "%02x", $0) }.joined()
        try await perform { core, actor, now in
            try core.registerPushToken(actor: actor, agent: actor.id, token: token, now: now)
        }
    }

    /// The stored push token, if any (hex, as registered).
    public func pushToken() async throws -> String? {
        try await perform { core, actor, _ in try core.pushToken(actor: actor, agent: actor.id) }
    }

    // MARK: Transparency and supervision

    /// Audit and security flags covering `agent` (agents: pass their own id,
    /// PRODUCT.md §4 transparency), or every flag (`nil`, supervisors).
    public func flags(covering agent: String?) async throws -> [AuditFlag] {
        try await perform { core, actor, now in try core.flags(actor: actor, agent: agent, now: now) }
    }

    /// Sets an audit or security flag (supervisors, admins).
    @discardableResult
    public func setFlag(_ request: FlagRequest) async throws -> AuditFlag {
        try await perform { core, actor, now in try core.setFlag(actor: actor, request: request, now: now) }
    }

    /// Imports a GeoJSON FeatureCollection of sites, all or nothing (admins).
    @discardableResult
    public func importSites(geojson: String) async throws -> ImportSummary {
        try await perform { core, actor, now in try core.importSites(actor: actor, geojson: geojson, now: now) }
    }

    /// Restricts or lifts restriction of processing for a subject (admins).
    public func setRestriction(subject: String, restricted: Bool) async throws {
        try await perform { core, actor, now in
            try core.setRestriction(actor: actor, subject: subject, restricted: restricted, now: now)
        }
    }

    // MARK: Leads and transactions

    /// Creates a lead (status `new`) for `lead.agent`: agents for
    /// themselves, admins for any agent (`FieldCheckError.PermissionDenied`
    /// otherwise).
    @discardableResult
    public func addLead(_ lead: NewLead) async throws -> Lead {
        try await perform { core, actor, now in try core.addLead(actor: actor, lead: lead, now: now) }
    }

    /// Changes a lead; `nil` fields stay as they are. A status that does not
    /// move forward (or to `lost`) throws `FieldCheckError.InvalidInput` with
    /// field `status`; `won` needs a `policyClosing` transaction for the lead.
    @discardableResult
    public func updateLead(_ leadID: String, _ update: LeadUpdate) async throws -> Lead {
        try await perform { core, actor, now in
            try core.updateLead(actor: actor, leadId: leadID, update: update, now: now)
        }
    }

    /// Moves a lead to `status` (see `updateLead`), optionally adding a note.
    @discardableResult
    public func moveLead(_ leadID: String, to status: LeadStatus, note: String? = nil) async throws -> Lead {
        try await updateLead(leadID, LeadUpdate(
            status: status, customerName: nil, phone: nil, email: nil, product: nil, source: nil, note: note
        ))
    }

    /// Leads, oldest first. `agent: nil` means everyone's (supervisors and
    /// admins); agents see only their own.
    public func leads(agent: String?, status: LeadStatus? = nil) async throws -> [Lead] {
        try await perform { core, actor, _ in try core.leads(actor: actor, agent: agent, status: status) }
    }

    public func lead(_ leadID: String) async throws -> Lead {
        try await perform { core, actor, _ in try core.lead(actor: actor, leadId: leadID) }
    }

    /// Every version of a lead, oldest first: who changed what, and when.
    public func leadHistory(_ leadID: String) async throws -> [LeadActivity] {
        try await perform { core, actor, _ in try core.leadHistory(actor: actor, leadId: leadID) }
    }

    /// Records a policy closing, premium payment, renewal or cancellation;
    /// the amount is a decimal string in the ISO 4217 currency.
    @discardableResult
    public func addTransaction(_ transaction: NewTransaction) async throws -> Transaction {
        try await perform { core, actor, now in
            try core.addTransaction(actor: actor, transaction: transaction, now: now)
        }
    }

    /// Transactions in the order they occurred. `agent: nil` means
    /// everyone's (supervisors and admins).
    public func transactions(agent: String?) async throws -> [Transaction] {
        try await perform { core, actor, _ in try core.transactions(actor: actor, agent: agent) }
    }

    // MARK: Reviews and reports

    /// Approves or rejects an attendance event, with a note (supervisors, admins).
    @discardableResult
    public func review(eventID: String, _ decision: Decision, note: String) async throws -> Review {
        try await perform { core, actor, now in
            try core.review(actor: actor, eventId: eventID, decision: decision, note: note, now: now)
        }
    }

    /// The reviews of one event, oldest first (supervisors, admins).
    public func reviews(ofEvent eventID: String) async throws -> [Review] {
        try await perform { core, actor, _ in try core.reviewsOf(actor: actor, eventId: eventID) }
    }

    /// Attendance per agent and local day. `query` holds local dates
    /// "YYYY-MM-DD" (the core parses them); agents get their own days only.
    public func attendanceReport(_ query: ReportQuery) async throws -> AttendanceReport {
        try await perform { core, actor, now in try core.attendanceReport(actor: actor, query: query, now: now) }
    }

    /// The attendance report rendered by the core: JSON, CSV or one
    /// self-contained HTML page.
    public func attendanceReportDocument(_ query: ReportQuery, format: ReportFormat) async throws -> String {
        try await perform { core, actor, now in
            try core.attendanceReportDocument(actor: actor, query: query, format: format, now: now)
        }
    }

    /// Leads by status, conversion, closings and premium per agent.
    public func salesReport(_ query: ReportQuery) async throws -> SalesReport {
        try await perform { core, actor, now in try core.salesReport(actor: actor, query: query, now: now) }
    }

    /// The sales report rendered by the core (JSON, CSV or HTML).
    public func salesReportDocument(_ query: ReportQuery, format: ReportFormat) async throws -> String {
        try await perform { core, actor, now in
            try core.salesReportDocument(actor: actor, query: query, format: format, now: now)
        }
    }

    // MARK: Shifts

    /// Sets an agent's shift (admins). The core parses the text ("HH:MM",
    /// days such as "mon-fri", an IANA zone) and returns the canonical form.
    @discardableResult
    public func setShift(_ shift: Shift, forAgent agent: String) async throws -> Shift {
        try await perform { core, actor, now in try core.setShift(actor: actor, agent: agent, shift: shift, now: now) }
    }

    /// Sets an agent's shift from the local date `from` (YYYY-MM-DD) on;
    /// earlier days keep the shift they had (admins). From then `shift`
    /// applies on its days, `off` (e.g. "sat,sun") are days off, and other
    /// weekdays keep theirs.
    @discardableResult
    public func setShift(_ shift: Shift, forAgent agent: String, from: String, off: String? = nil) async throws -> Shift {
        try await perform { core, actor, now in
            try core.setShiftFrom(actor: actor, agent: agent, from: from, shift: shift, off: off, now: now)
        }
    }

    /// An agent's shift versions, oldest first (`from` nil: from the beginning).
    public func shiftHistory(ofAgent agent: String) async throws -> [ShiftVersion] {
        try await perform { core, actor, _ in try core.shiftHistory(actor: actor, agent: agent) }
    }

    public func shift(ofAgent agent: String) async throws -> Shift? {
        try await perform { core, actor, _ in try core.shift(actor: actor, agent: agent) }
    }

    /// Every agent's shift (agents: only their own).
    public func shifts() async throws -> [AgentShift] {
        try await perform { core, actor, _ in try core.shifts(actor: actor) }
    }

    // MARK: Device sync

    /// The next `limit` events of this device's outbox as one sync batch
    /// (JSON; send it to the supervisor's store, then `syncAck(upTo:)` its
    /// `to_seq`).
    ///
    /// The outbox holds every agent's events on the device, so the core lets
    /// only supervisors and admins read it and only admins acknowledge: pass
    /// the app's own device/service actor of role `.admin` (e.g.
    /// `Actor(id: "device-sync", role: .admin)`), not the signed-in agent.
    /// A supervisor's app imports a batch with
    /// `perform { core, _, now in try core.syncImport(actor: admin, batchJson: batch, now: now) }`.
    public func syncPending(as syncActor: FieldCheckCore.Actor, limit: UInt32 = 1000) async throws -> String {
        try await perform { core, _, _ in try core.syncPending(actor: syncActor, limit: limit) }
    }

    /// Releases the outbox up to `upTo` (a sent batch's `to_seq`); see
    /// `syncPending(as:limit:)` for the actor.
    @discardableResult
    public func syncAck(as syncActor: FieldCheckCore.Actor, upTo: Int64) async throws -> AckReport {
        try await perform { core, _, _ in try core.syncAck(actor: syncActor, upTo: upTo) }
    }

    // MARK: Server

    // The wire to fieldcheck-server (PRODUCT §12.2). The protocol (what to
    // send, retries, acknowledgements) is the core's; the app hands in the
    // platform's transport (`URLSessionTransport`) and keystore (the Secure
    // Enclave's, or `softwareKeystore()` in tests).

    /// Enrols this device with `serverURL` using a one-time code from the
    /// server's admin, then pulls what the server decides (sites, rules,
    /// shift, flags, policy, restriction) so the next check-in is judged by
    /// it. A pull that fails here leaves the device enrolled; the next
    /// `pull` (or `BackgroundSync` round) brings the configuration.
    public func enrol(
        serverURL: String, code: String, keystore: any DeviceKeystore, transport: any HttpTransport
    ) async throws -> Enrolment {
        let box = WireBox(keystore: keystore, transport: transport)
        return try await perform { core, _, _ in
            let enrolment = try core.enrolDevice(
                serverUrl: serverURL, code: code, platform: .ios,
                keystore: box.keystore, transport: box.transport)
            // Enrolled all the same if this fails: the configuration comes
            // with the next pull.
            _ = try? core.syncPull(transport: box.transport)
            return enrolment
        }
    }

    /// Enrols with a scanned `fieldcheck://enrol?server=…&code=…` link (the
    /// console's QR code), parsed by the core; a link that is not one
    /// throws `FieldCheckError.InvalidInput` and enrols nothing.
    public func enrol(
        link: String, keystore: any DeviceKeystore, transport: any HttpTransport
    ) async throws -> Enrolment {
        let parsed = try parseEnrolLink(link: link)
        return try await enrol(
            serverURL: parsed.serverUrl, code: parsed.code, keystore: keystore, transport: transport)
    }

    /// Sends the outbox as signed batches until it is empty (retries wait
    /// on this service's queue).
    public func push(
        keystore: any DeviceKeystore, transport: any HttpTransport, limit: UInt32 = 1000
    ) async throws -> PushReport {
        let box = WireBox(keystore: keystore, transport: transport)
        return try await perform { core, _, _ in
            try core.syncPush(keystore: box.keystore, transport: box.transport, limit: limit)
        }
    }

    /// Fetches the supervisors' decisions about this device's agent and
    /// the configuration the server decided, applied in one transaction;
    /// the report says what changed (kinds, renewal of consent now
    /// required, restricted).
    public func pull(transport: any HttpTransport) async throws -> PullReport {
        let box = WireBox(keystore: nil, transport: transport)
        return try await perform { core, _, _ in try core.syncPull(transport: box.transport) }
    }

    /// How each day was judged: the decisions about the signed-in agent
    /// (pulled from the server), oldest first.
    public func decisions() async throws -> [DecisionNotice] {
        try await perform { core, actor, _ in try core.reviews(actor: actor, agent: actor.id) }
    }

    /// The server this device is enrolled with, if any.
    public func serverLink() async throws -> ServerLinkInfo? {
        try await perform { core, _, _ in try core.serverLink() }
    }

    // MARK: Anything else

    /// Runs `body` on this service's queue with the store, the actor and the
    /// current time: for core calls without a method here (`verify`,
    /// `purge`, `rules`, ...).
    public func perform<T: Sendable>(
        _ body: @escaping @Sendable (FieldCheck, FieldCheckCore.Actor, Date) throws -> T
    ) async throws -> T {
        let (core, actor, clock) = (self.core, self.actor, self.clock)
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body(core, actor, clock()) })
            }
        }
    }
}

/// What the OS allows for a permission, as `osPermissionChanged` sees it.
public enum OSPermission: Sendable, Equatable {
    /// The app has not asked yet: nothing to record.
    case notDetermined
    /// Allowed (for location: precise location, when in use or always).
    case granted
    /// Location allowed only approximately (reduced accuracy).
    case approximateOnly
    /// Refused by the user.
    case denied
    /// Not the user's to allow (parental controls, device management).
    case restricted
}

/// Carries the foreign capabilities onto the service's queue. The core
/// calls them from that one thread; the generated protocols are not marked
/// `Sendable`, so the box says so for them.
private final class WireBox: @unchecked Sendable {
    let keystore: (any DeviceKeystore)!
    let transport: any HttpTransport
    init(keystore: (any DeviceKeystore)?, transport: any HttpTransport) {
        self.keystore = keystore
        self.transport = transport
    }
}
