package app.fieldcheck

import app.fieldcheck.core.DeviceKeystore
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.HttpTransport
import app.fieldcheck.core.PullReport
import app.fieldcheck.core.PushReport
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration
import kotlin.time.Duration.Companion.minutes
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeoutOrNull

/**
 * Keeps an enrolled device in step with its server while the app runs:
 * pushes the outbox and pulls decisions right after each check-in or
 * check-out through [client] (when [isOnline]), and every [interval]
 * otherwise. A failed round (unreachable after the core's own retries, a
 * 5xx) waits [firstBackoff], doubling up to [maxBackoff], and resets on
 * success. A 401 or 403 (the device was revoked, or its key is no longer
 * the enrolled one) ends the loop: retrying cannot help, and the app must
 * enrol again.
 *
 * The protocol (batches, signatures, acknowledgements, per-request
 * retries) is the core's; this loop only decides when to call it. Run it
 * in a scope tied to the app's lifetime and cancel the scope to stop it:
 *
 * ```
 * scope.launch { BackgroundSync(client, keystore, transport).run() }
 * ```
 *
 * When the app is not running, schedule [runOnce] from WorkManager (see the
 * README). [onRound] sees every round's outcome (for a status line or logs).
 */
class BackgroundSync(
    private val client: FieldCheckClient,
    private val keystore: DeviceKeystore,
    private val transport: HttpTransport,
    private val interval: Duration = 15.minutes,
    private val firstBackoff: Duration = 30.seconds,
    private val maxBackoff: Duration = 30.minutes,
    private val isOnline: () -> Boolean = { true },
    private val onRound: (SyncRound) -> Unit = {},
) {
    /** What one round did. */
    sealed interface SyncRound {
        data class Synced(val push: PushReport, val pull: PullReport) : SyncRound

        /** [isOnline] said no: nothing was tried. */
        data object Offline : SyncRound

        /** The round failed and will be tried again after [retryIn]. */
        data class Failed(val error: FieldCheckException, val retryIn: Duration) : SyncRound

        /** The server refused this device for good (401/403); the loop has ended. */
        data class Stopped(val error: FieldCheckException.ServerRefused) : SyncRound
    }

    /**
     * Loops until cancelled or refused for good; returns the refusal. Throws
     * [IllegalStateException] when the store is not enrolled with a server.
     */
    suspend fun run(): SyncRound.Stopped {
        checkNotNull(client.serverLink()) { "this device is not enrolled with a server" }
        while (true) {
            val round = runOnce()
            onRound(round)
            val wait = when (round) {
                is SyncRound.Stopped -> return round
                is SyncRound.Failed -> {
                    // Check-ins during a backoff wait for it: hammering a failing server helps nobody.
                    delay(round.retryIn)
                    continue
                }
                is SyncRound.Synced, SyncRound.Offline -> interval
            }
            // Woken early by the next check-in or check-out.
            withTimeoutOrNull(wait) { client.outboxChanged.receive() }
        }
    }

    /** Failed rounds since the last success (a worker may call [runOnce] beside the loop). */
    private val consecutiveFailures = AtomicInteger(0)

    /** One push and pull now (e.g. from a WorkManager worker); never throws a sync failure. */
    suspend fun runOnce(): SyncRound {
        if (!isOnline()) return SyncRound.Offline
        return try {
            val push = client.push(keystore, transport)
            val pull = client.pull(transport)
            consecutiveFailures.set(0)
            SyncRound.Synced(push, pull)
        } catch (e: FieldCheckException.ServerRefused) {
            if (e.status.toInt() == 401 || e.status.toInt() == 403) SyncRound.Stopped(e) else failed(e)
        } catch (e: FieldCheckException) {
            failed(e)
        }
    }

    private fun failed(e: FieldCheckException): SyncRound.Failed {
        val before = consecutiveFailures.getAndIncrement()
        val retryIn = (firstBackoff * (1 shl before.coerceAtMost(20))).coerceAtMost(maxBackoff)
        return SyncRound.Failed(e, retryIn)
    }
}
