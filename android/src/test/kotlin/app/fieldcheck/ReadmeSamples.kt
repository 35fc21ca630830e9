package app.fieldcheck

// The code samples of android/README.md. ReadmeSamplesTest checks that every
// ```kotlin block of the README is in this file, line for line, and runs
// them. Only JVM-compatible code lives here: Android types stay out.

import app.fieldcheck.core.Actor
import app.fieldcheck.core.DeviceKeystore
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Lead
import app.fieldcheck.core.LeadStatus
import app.fieldcheck.core.NewTransaction
import app.fieldcheck.core.Permission
import app.fieldcheck.core.ReportFormat
import app.fieldcheck.core.TxnKind
import app.fieldcheck.net.OkHttpTransport
import java.io.File
import java.time.LocalDate
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Job
import kotlinx.coroutines.async
import kotlinx.coroutines.launch

// sample: open
// Application.onCreate(): one client for the whole process, opened off the
// main thread. Every screen and worker awaits the same one.
fun openFieldCheck(appScope: CoroutineScope, filesDir: File, location: LocationSource): Deferred<FieldCheckClient> =
    appScope.async { FieldCheckClient.open(File(filesDir, "fieldcheck.db").path, location) }
// end

// sample: check-in
// A ViewModel action. The core judges; the app shows its answer.
suspend fun checkInMessage(client: FieldCheckClient, me: Actor): String =
    try {
        val event = client.checkIn(me)
        val reasons = event.reasons.joinToString { it.name.lowercase() }
        if (event.accepted) "Checked in at ${event.siteId} $reasons".trim() else "Not accepted: $reasons"
    } catch (e: LocationException) {
        "No location fix (${e.message}); nothing was recorded"
    } catch (e: FieldCheckException) {
        "Refused: ${e.message}" // typed: InvalidInput, PermissionDenied, StoreUnusable, ...
    }
// end

// sample: consent
// The in-app consent screen: the agent's own decision (source `app`), for the
// privacy policy version they were shown.
suspend fun onLocationConsentToggled(client: FieldCheckClient, me: Actor, allowed: Boolean, policyVersion: String) {
    client.setConsent(me, Permission.LOCATION, allowed, policyVersion = policyVersion)
}
// end

// sample: permissions
// After every permission dialog and in onResume (Android has no callback for
// changes made in Settings); AndroidPermissionObserver does exactly this.
suspend fun onPermissionsChecked(bridge: PermissionConsentBridge, me: Actor, fine: Boolean, coarse: Boolean) {
    bridge.onLocationPermission(me, PermissionConsentBridge.locationState(fine, coarse))
}
// end

// sample: privacy
// The agent's privacy screen: their consent and the flags that cover them.
suspend fun privacyLines(client: FieldCheckClient, me: Actor): List<String> {
    val location = client.consentState(me).location
    val flags = client.flagsCovering(me)
    return listOf("Location for attendance: ${if (location?.granted == true) "allowed" else "not allowed"}") +
        flags.map { "${it.purpose.name.lowercase()} flag by ${it.setBy.id} until ${it.expiresAt}: ${it.reason}" }
}
// end

// sample: push
// FirebaseMessagingService.onNewToken: the core stores it only under push consent.
suspend fun onNewPushToken(client: FieldCheckClient, me: Actor, token: String) {
    try {
        client.registerPushToken(me, token)
    } catch (e: FieldCheckException.PermissionDenied) {
        // No push consent: nothing is stored. Register again once it is granted.
    }
}
// end

// sample: lead-won
// The agent closed a policy: record the closing, then mark the lead won.
// The core checks the move (forward or to lost; won only after a closing).
suspend fun policySigned(client: FieldCheckClient, me: Actor, leadId: String, policyNumber: String, premiumIdr: String): Lead {
    client.addTransaction(me, NewTransaction(me.id, TxnKind.POLICY_CLOSING, policyNumber, "term life", premiumIdr, "IDR", leadId, null))
    return try {
        client.moveLead(me, leadId, LeadStatus.WON)
    } catch (e: FieldCheckException.InvalidInput) {
        client.lead(me, leadId) // e.g. the lead was already lost: it stays as it is
    }
}
// end

// sample: report
// A supervisor's weekly export, rendered by the core (also JSON and a self-contained HTML page).
suspend fun weeklyAttendanceCsv(client: FieldCheckClient, supervisor: Actor, monday: LocalDate): String =
    client.attendanceReportDocument(supervisor, monday, monday.plusDays(6), ReportFormat.CSV)
// end

// sample: sync
// After sign-in on an enrolled phone: keep the server in step while the app
// runs. Check-ins wake the loop; it backs off when the network fails and
// ends when the server revokes the device.
fun startSync(appScope: CoroutineScope, client: FieldCheckClient, keystore: DeviceKeystore): Job =
    appScope.launch {
        val stopped = BackgroundSync(client, keystore, OkHttpTransport()).run()
        println("sync stopped: ${stopped.error.problem}") // e.g. revoked-device: enrol again
    }
// end

// sample: close
// Signing out of a shared phone: free the native store now, not at the next GC.
// Calls still running finish first; later calls throw IllegalStateException.
fun signOut(client: FieldCheckClient) {
    client.close()
}
// end
