package app.fieldcheck

import app.fieldcheck.core.Actor
import app.fieldcheck.core.ConsentEntry
import app.fieldcheck.core.OsPermission
import app.fieldcheck.core.Permission

/**
 * Feeds OS permission states to the core's consent ledger. Report the
 * current state whenever it may have changed (app start, resume, after a
 * permission dialog); the core appends an entry with source `os_settings`
 * only when the ledger disagrees with the OS, so reporting the same state
 * again appends nothing. Which disagreements count (a revoked permission
 * withdraws consent; restoring it restores only what the OS withdrew; the
 * OS never grants consent the agent has not given in the app) is the
 * core's rule (`record_os_permission`), decided in one transaction.
 */
class PermissionConsentBridge(private val client: FieldCheckClient) {
    /** The appended entry, or null when the ledger already agreed. */
    suspend fun onLocationPermission(agent: Actor, state: OsPermission): ConsentEntry? =
        client.recordOsPermission(agent, Permission.LOCATION, state)

    /** Notifications allowed (Android 13+ POST_NOTIFICATIONS and the app's notification switch). */
    suspend fun onNotificationPermission(agent: Actor, allowed: Boolean): ConsentEntry? =
        client.recordOsPermission(agent, Permission.PUSH, if (allowed) OsPermission.GRANTED else OsPermission.DENIED)

    companion object {
        /**
         * Android's two location grants as one platform state. Fine without
         * coarse cannot happen on Android 12+ and means precise before it.
         *
         * Coarse alone is Android 12+'s "Approximate" choice: the platform
         * then blurs every fix to a cell of about 1–3 km, which can never
         * place an agent inside a site, and the user has declined to share
         * the precision attendance needs. It is reported as APPROXIMATE_ONLY,
         * which the core records as location consent *not* granted, so
         * check-ins answer `consent_required` (true, and fixable in
         * Settings) instead of judging blurred fixes. This is a mapping of
         * platform states, not a rule about fixes.
         */
        fun locationState(fine: Boolean, coarse: Boolean): OsPermission = when {
            fine -> OsPermission.GRANTED
            coarse -> OsPermission.APPROXIMATE_ONLY
            else -> OsPermission.DENIED
        }
    }
}
