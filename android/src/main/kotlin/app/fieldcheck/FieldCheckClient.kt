package app.fieldcheck

import app.fieldcheck.core.Actor
import app.fieldcheck.core.AckReport
import app.fieldcheck.core.AgentShift
import app.fieldcheck.core.AttendanceEvent
import app.fieldcheck.core.AttendanceReport
import app.fieldcheck.core.AuditFlag
import app.fieldcheck.core.FixRequest
import app.fieldcheck.core.FixSubmission
import app.fieldcheck.core.ConsentChange
import app.fieldcheck.core.ConsentEntry
import app.fieldcheck.core.ConsentSource
import app.fieldcheck.core.ConsentStanding
import app.fieldcheck.core.ConsentState
import app.fieldcheck.core.DataSubject
import app.fieldcheck.core.Decision
import app.fieldcheck.core.DecisionNotice
import app.fieldcheck.core.DeviceKeystore
import app.fieldcheck.core.Enrolment
import app.fieldcheck.core.EventKind
import app.fieldcheck.core.FieldCheck
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.FlagRequest
import app.fieldcheck.core.HttpTransport
import app.fieldcheck.core.Lead
import app.fieldcheck.core.LeadActivity
import app.fieldcheck.core.LeadStatus
import app.fieldcheck.core.LeadUpdate
import app.fieldcheck.core.NewLead
import app.fieldcheck.core.NewTransaction
import app.fieldcheck.core.OsPermission
import app.fieldcheck.core.Permission
import app.fieldcheck.core.Platform
import app.fieldcheck.core.PullReport
import app.fieldcheck.core.PushReport
import app.fieldcheck.core.ReportFormat
import app.fieldcheck.core.ReportQuery
import app.fieldcheck.core.Review
import app.fieldcheck.core.SalesReport
import app.fieldcheck.core.ServerLinkInfo
import app.fieldcheck.core.parseEnrolLink
import app.fieldcheck.core.Shift
import app.fieldcheck.core.ShiftVersion
import app.fieldcheck.core.SubjectKind
import app.fieldcheck.core.SyncStatus
import app.fieldcheck.core.Transaction
import app.fieldcheck.core.VerifyReport
import java.io.Closeable
import java.time.Clock
import java.time.Instant
import java.time.LocalDate
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.withContext

/**
 * The app's view of the core: one suspend function per app action, each one
 * core call run on [dispatcher] (SQLite blocks, so never on the main
 * thread). Every rule (judging, consent, retention, who may do what) is the
 * core's; this class only gathers the inputs (the signed-in [Actor], a fix,
 * the clock) and passes the core's answer or its typed
 * [app.fieldcheck.core.FieldCheckException] through unchanged.
 *
 * Open one per process and share it: the core object is thread-safe.
 * [close] frees the native store; calls made after that throw
 * [IllegalStateException], and calls already running finish first.
 */
class FieldCheckClient(
    /** The bindings' object, for calls this class does not name (see [withCore]). */
    val core: FieldCheck,
    private val location: LocationSource,
    private val clock: Clock = Clock.systemUTC(),
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
) : Closeable {
    companion object {
        val DEFAULT_FIX_TIMEOUT: Duration = 30.seconds

        /** Opens (or creates) the store at [path] off the calling thread. */
        suspend fun open(
            path: String,
            location: LocationSource,
            clock: Clock = Clock.systemUTC(),
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): FieldCheckClient = withContext(dispatcher) {
            FieldCheckClient(FieldCheck.open(path), location, clock, dispatcher)
        }
    }

    /** Gets a fix from the [LocationSource] and submits it as a check-in: one core call. */
    suspend fun checkIn(
        actor: Actor,
        agent: String = actor.id,
        fixTimeout: Duration = DEFAULT_FIX_TIMEOUT,
    ): AttendanceEvent = check(actor, agent, EventKind.CHECK_IN, fixTimeout)

    suspend fun checkOut(
        actor: Actor,
        agent: String = actor.id,
        fixTimeout: Duration = DEFAULT_FIX_TIMEOUT,
    ): AttendanceEvent = check(actor, agent, EventKind.CHECK_OUT, fixTimeout)

    private suspend fun check(
        actor: Actor,
        agent: String,
        kind: EventKind,
        fixTimeout: Duration,
    ): AttendanceEvent {
        // The source suspends (it does not block), so it runs on the caller's
        // context; a LocationException leaves the core untouched.
        val fix = location.currentFix(fixTimeout)
        return io { core.recordFix(FixSubmission(actor, FixRequest(agent, kind, fix), clock.instant())) }
            .also { outboxChanged.trySend(Unit) }
    }

    /**
     * A wake-up for [BackgroundSync] after each check-in or check-out (the
     * core appends every judged fix to the outbox, accepted or not).
     * Conflated: many check-ins while a push runs wake it once.
     */
    internal val outboxChanged = Channel<Unit>(Channel.CONFLATED)

    /**
     * Grants or withdraws a permission. [policyVersion] and [source] default
     * in the core (the current policy; `app` for an agent, `admin` for an admin).
     */
    suspend fun setConsent(
        actor: Actor,
        permission: Permission,
        granted: Boolean,
        agent: String = actor.id,
        policyVersion: String? = null,
        source: ConsentSource? = null,
    ): ConsentEntry = io {
        core.changeConsent(
            actor,
            ConsentChange(agent, permission, granted, policyVersion, source),
            clock.instant(),
        )
    }

    /**
     * Mirrors an OS permission state into the ledger (source `os_settings`);
     * null when the core found nothing to record. See [PermissionConsentBridge].
     */
    suspend fun recordOsPermission(
        actor: Actor,
        permission: Permission,
        state: OsPermission,
        agent: String = actor.id,
    ): ConsentEntry? = io { core.recordOsPermission(actor, agent, permission, state, clock.instant()) }

    suspend fun consentState(actor: Actor, agent: String = actor.id): ConsentState =
        io { core.consentState(actor, agent) }

    suspend fun consentHistory(actor: Actor, agent: String = actor.id): List<ConsentEntry> =
        io { core.consentHistory(actor, agent) }

    /**
     * How [agent]'s location consent stands against the published privacy
     * policy. While [ConsentStanding.renewalRequired] the app asks the agent
     * to accept the new policy (check-ins are refused with `consent_required`);
     * accepting is [setConsent] with `granted = true`, which records the
     * current version.
     */
    suspend fun consentStanding(actor: Actor, agent: String = actor.id): ConsentStanding =
        io { core.consentStanding(actor, agent) }

    /**
     * The consent receipt of one ledger entry (Kantara CR v1.1 JSON; its
     * `consentReceiptID` is [entryId]). Agents get their own. Without a data
     * controller set by an admin the core throws `InvalidInput` on `controller`.
     */
    suspend fun consentReceipt(actor: Actor, entryId: String): String =
        io { core.consentReceipt(actor, entryId) }

    /**
     * Everything the store holds about the signed-in agent, as one JSON
     * document (access and portability copy); logged as an access request.
     */
    suspend fun exportMyData(actor: Actor): String =
        io { core.exportSubject(actor, DataSubject(SubjectKind.AGENT, actor.id), clock.instant()) }

    /**
     * The next [limit] events of this device's outbox as one sync batch
     * (JSON; send it to the supervisor's store, then [syncAck] its `to_seq`).
     *
     * The outbox holds every agent's events on the device, so the core lets
     * only supervisors and admins read it, and only admins acknowledge: the
     * app calls these two with its own device/service actor of role `ADMIN`
     * (e.g. `Actor("device-sync", Role.ADMIN)`), never with the signed-in
     * agent. Importing a batch on a supervisor's device is
     * `withCore { now -> syncImport(adminActor, batchJson, now) }`.
     */
    suspend fun syncPending(actor: Actor, limit: UInt = 1000u): String = io { core.syncPending(actor, limit) }

    /** Releases the outbox up to [upTo] (a sent batch's `to_seq`); see [syncPending] for the actor. */
    suspend fun syncAck(actor: Actor, upTo: Long): AckReport = io { core.syncAck(actor, upTo) }

    // The wire to fieldcheck-server (PRODUCT §12.2). The protocol (what to
    // send, retries, acknowledgements) is the core's; the app hands in the
    // platform's transport and keystore.

    /**
     * Enrols this device with [serverUrl] using a one-time [code] from the
     * server's admin, then pulls what the server decides (sites, rules,
     * shift, flags, policy, restriction) so the next check-in is judged by
     * it. A pull that fails here leaves the device enrolled; the next
     * [pull] (or [BackgroundSync] round) brings the configuration.
     */
    suspend fun enrol(
        serverUrl: String,
        code: String,
        keystore: DeviceKeystore,
        transport: HttpTransport,
    ): Enrolment = io {
        val enrolment = core.enrolDevice(serverUrl, code, Platform.ANDROID, keystore, transport)
        try {
            core.syncPull(transport)
        } catch (_: FieldCheckException) {
            // Enrolled all the same: the configuration comes with the next pull.
        }
        enrolment
    }

    /**
     * Enrols with a scanned `fieldcheck://enrol?server=…&code=…` link (the
     * console's QR code), parsed by the core; a link that is not one throws
     * [FieldCheckException.InvalidInput] and enrols nothing.
     */
    suspend fun enrolWithLink(link: String, keystore: DeviceKeystore, transport: HttpTransport): Enrolment {
        val parsed = io { parseEnrolLink(link) }
        return enrol(parsed.serverUrl, parsed.code, keystore, transport)
    }

    /** Sends the outbox as signed batches until it is empty; retries wait on [dispatcher]. */
    suspend fun push(keystore: DeviceKeystore, transport: HttpTransport, limit: UInt = 1000u): PushReport =
        io { core.syncPush(keystore, transport, limit) }

    /**
     * Fetches the supervisors' decisions about this device's agent and the
     * configuration the server decided, applied in one transaction; the
     * report says what changed (kinds, renewal of consent now required,
     * restricted).
     */
    suspend fun pull(transport: HttpTransport): PullReport = io { core.syncPull(transport) }

    /** How each day was judged: decisions pulled from the server, oldest first. */
    suspend fun reviews(actor: Actor, agent: String = actor.id): List<DecisionNotice> =
        io { core.reviews(actor, agent) }

    /** The outbox and how far it was acknowledged. */
    suspend fun syncStatus(actor: Actor): SyncStatus = io { core.syncStatus(actor) }

    /** The server this device is enrolled with, or null. */
    suspend fun serverLink(): ServerLinkInfo? = io { core.serverLink() }

    /**
     * Stores the device's push token (FCM) for [agent]. The core refuses it
     * with `PermissionDenied` unless push consent is granted, and deletes it
     * when push consent is withdrawn.
     */
    suspend fun registerPushToken(actor: Actor, token: String, agent: String = actor.id) =
        io { core.registerPushToken(actor, agent, token, clock.instant()) }

    suspend fun pushToken(actor: Actor, agent: String = actor.id): String? = io { core.pushToken(actor, agent) }

    /** The audit and security flags that cover [agent] now (transparency, PRODUCT §4). */
    suspend fun flagsCovering(actor: Actor, agent: String = actor.id): List<AuditFlag> =
        io { core.flags(actor, agent, clock.instant()) }

    /** Attendance events, oldest first; never coordinates. `agent = null`: everyone's (supervisors). */
    suspend fun events(
        actor: Actor,
        agent: String? = actor.id,
        from: Instant? = null,
        to: Instant? = null,
    ): List<AttendanceEvent> = io { core.events(actor, agent, from, to) }

    /** Sets an audit or security flag (supervisors and admins; the core checks). */
    suspend fun setFlag(actor: Actor, request: FlagRequest): AuditFlag =
        io { core.setFlag(actor, request, clock.instant()) }

    // Leads and transactions: agents for themselves (admins for an agent);
    // supervisors and admins read everyone's. The core checks every move.

    /** Creates a lead (status `new`) for [NewLead.agent]. */
    suspend fun addLead(actor: Actor, lead: NewLead): Lead = io { core.addLead(actor, lead, clock.instant()) }

    /**
     * Changes a lead; null fields stay as they are. A status that does not
     * move forward (or to `lost`) is `FieldCheckException.InvalidInput` with
     * field `status`; `won` needs a `policy_closing` transaction for the lead.
     */
    suspend fun updateLead(actor: Actor, leadId: String, update: LeadUpdate): Lead =
        io { core.updateLead(actor, leadId, update, clock.instant()) }

    /** Moves a lead to [status] (see [updateLead]), optionally with a note. */
    suspend fun moveLead(actor: Actor, leadId: String, status: LeadStatus, note: String? = null): Lead =
        updateLead(actor, leadId, LeadUpdate(status, null, null, null, null, null, note))

    /** Leads, oldest first. `agent = null`: everyone's (supervisors, admins). */
    suspend fun leads(actor: Actor, agent: String? = actor.id, status: LeadStatus? = null): List<Lead> =
        io { core.leads(actor, agent, status) }

    suspend fun lead(actor: Actor, leadId: String): Lead = io { core.lead(actor, leadId) }

    /** Every version of a lead, oldest first: who changed what, and when. */
    suspend fun leadHistory(actor: Actor, leadId: String): List<LeadActivity> = io { core.leadHistory(actor, leadId) }

    /** Records a policy closing, premium payment, renewal or cancellation; the amount is a decimal string. */
    suspend fun addTransaction(actor: Actor, transaction: NewTransaction): Transaction =
        io { core.addTransaction(actor, transaction, clock.instant()) }

    /** Transactions in the order they occurred. `agent = null`: everyone's (supervisors, admins). */
    suspend fun transactions(actor: Actor, agent: String? = actor.id): List<Transaction> =
        io { core.transactions(actor, agent) }

    // Supervision: reviews and reports (agents get reports of their own days only).

    /** Approves or rejects an attendance event, with a note (supervisors, admins). */
    suspend fun review(actor: Actor, eventId: String, decision: Decision, note: String): Review =
        io { core.review(actor, eventId, decision, note, clock.instant()) }

    suspend fun reviewsOf(actor: Actor, eventId: String): List<Review> = io { core.reviewsOf(actor, eventId) }

    /** Attendance per agent and local day over [from]..[to] (inclusive). `agent = null`: everyone the actor may see. */
    suspend fun attendanceReport(actor: Actor, from: LocalDate, to: LocalDate, agent: String? = null): AttendanceReport =
        io { core.attendanceReport(actor, reportQuery(from, to, agent), clock.instant()) }

    /** The attendance report rendered by the core (JSON, CSV or a self-contained HTML page). */
    suspend fun attendanceReportDocument(
        actor: Actor,
        from: LocalDate,
        to: LocalDate,
        format: ReportFormat,
        agent: String? = null,
    ): String = io { core.attendanceReportDocument(actor, reportQuery(from, to, agent), format, clock.instant()) }

    /** Leads by status, conversion, closings and premium per agent over [from]..[to]. */
    suspend fun salesReport(actor: Actor, from: LocalDate, to: LocalDate, agent: String? = null): SalesReport =
        io { core.salesReport(actor, reportQuery(from, to, agent), clock.instant()) }

    suspend fun salesReportDocument(
        actor: Actor,
        from: LocalDate,
        to: LocalDate,
        format: ReportFormat,
        agent: String? = null,
    ): String = io { core.salesReportDocument(actor, reportQuery(from, to, agent), format, clock.instant()) }

    // Shifts (admins set them; the core parses "HH:MM", days such as "mon-fri" and the IANA zone).

    /** Sets [agent]'s shift; returns it in the core's canonical form. */
    suspend fun setShift(actor: Actor, agent: String, shift: Shift): Shift =
        io { core.setShift(actor, agent, shift, clock.instant()) }

    /**
     * Sets [agent]'s shift from the local date [from] on; earlier days keep theirs. From then
     * [shift] applies on its days, [off] (e.g. "sat,sun") are days off, other weekdays keep theirs.
     */
    suspend fun setShiftFrom(actor: Actor, agent: String, from: LocalDate, shift: Shift, off: String? = null): Shift =
        io { core.setShiftFrom(actor, agent, from.toString(), shift, off, clock.instant()) }

    /** An agent's shift versions, oldest first (`from` null: from the beginning). */
    suspend fun shiftHistory(actor: Actor, agent: String): List<ShiftVersion> = io { core.shiftHistory(actor, agent) }

    /** An agent's shift: agents read their own, supervisors and admins anyone's. */
    suspend fun shift(actor: Actor, agent: String): Shift? = io { core.shift(actor, agent) }

    /** Every agent's shift (agents: only their own). */
    suspend fun shifts(actor: Actor): List<AgentShift> = io { core.shifts(actor) }

    suspend fun verify(): VerifyReport = io { core.verify() }

    /**
     * Any other core call (site import, restriction, purge, rules), on the
     * same dispatcher and with the same clock, e.g.
     * `client.withCore { now -> purge(admin, now) }`.
     */
    suspend fun <T> withCore(block: FieldCheck.(now: Instant) -> T): T = io { core.block(clock.instant()) }

    /** Frees the native store. Idempotent. */
    override fun close() = core.close()

    private suspend inline fun <T> io(crossinline block: () -> T): T = withContext(dispatcher) { block() }

    // ISO-8601 dates (`LocalDate.toString()`); the core parses and checks the period.
    private fun reportQuery(from: LocalDate, to: LocalDate, agent: String?) = ReportQuery(from.toString(), to.toString(), agent)
}
