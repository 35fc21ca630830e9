package app.fieldcheck

import app.fieldcheck.core.Fix
import kotlin.time.Duration
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeoutOrNull

/**
 * Where check-ins get their position. Implementations report what the
 * platform measured and judge nothing: a mocked, stale or inaccurate fix is
 * returned as it is and the core decides what it is worth.
 */
interface LocationSource {
    /**
     * One fresh fix: latitude, longitude, accuracy in metres (68 %), the
     * time it was captured (on the same clock as the `now` passed to the
     * core) and whether the platform marked it as mocked.
     *
     * @throws LocationException.Timeout if no fix arrived within [timeout].
     * @throws LocationException.Unavailable if there is no fix to be had
     *   (permission missing, provider off, nothing measured).
     */
    suspend fun currentFix(timeout: Duration): Fix
}

/** Why no fix could be obtained. No fix means no core call: nothing is recorded. */
sealed class LocationException(message: String) : Exception(message) {
    class Timeout(val timeout: Duration) : LocationException("no location fix within $timeout")

    class Unavailable(val reason: String) : LocationException("location unavailable: $reason")
}

/**
 * Replays a recorded trace, one fix per call, in order, exactly as given
 * (malformed values included: validating them is the core's job). Each call
 * takes [latency]; a call whose latency exceeds its timeout fails with
 * [LocationException.Timeout] and does not consume the fix. An exhausted
 * trace is [LocationException.Unavailable].
 */
class SimulatedLocationSource(
    trace: Iterable<Fix>,
    private val latency: Duration = Duration.ZERO,
) : LocationSource {
    private val fixes = ArrayDeque(trace.toList())
    private val lock = Any()

    /** Fixes not yet handed out. */
    val remaining: Int get() = synchronized(lock) { fixes.size }

    override suspend fun currentFix(timeout: Duration): Fix {
        withTimeoutOrNull(timeout) { delay(latency) } ?: throw LocationException.Timeout(timeout)
        return synchronized(lock) { fixes.removeFirstOrNull() }
            ?: throw LocationException.Unavailable("the simulated trace is exhausted")
    }
}
