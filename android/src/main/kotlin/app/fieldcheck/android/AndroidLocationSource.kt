package app.fieldcheck.android

import android.annotation.SuppressLint
import android.content.Context
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Build
import android.os.Bundle
import android.os.CancellationSignal
import android.os.Looper
import android.os.SystemClock
import app.fieldcheck.LocationException
import app.fieldcheck.LocationSource
import app.fieldcheck.core.Fix
import java.time.Clock
import java.util.concurrent.Executor
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlin.time.Duration
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withTimeoutOrNull

/**
 * One fresh fix from the platform's [LocationManager] (no Play services).
 * Needs ACCESS_FINE_LOCATION; without it, or with the provider off, the
 * call fails with [LocationException.Unavailable]. Reports what the
 * platform measured, mocked or not: judging it is the core's job.
 *
 * [clock] is the wall clock that supplies the core's `now` (the client's).
 */
class AndroidLocationSource(
    context: Context,
    private val provider: String = LocationManager.GPS_PROVIDER,
    private val clock: Clock = Clock.systemUTC(),
) : LocationSource {
    private val manager = checkNotNull(context.getSystemService(LocationManager::class.java))
    private val direct = Executor { it.run() }

    override suspend fun currentFix(timeout: Duration): Fix {
        if (!manager.isProviderEnabled(provider)) throw LocationException.Unavailable("$provider is off")
        // Cancelling on timeout cancels the platform request too (CancellationSignal / removeUpdates).
        val location = withTimeoutOrNull(timeout) { request() } ?: throw LocationException.Timeout(timeout)
        if (!location.hasAccuracy()) throw LocationException.Unavailable("the fix has no accuracy")
        // The fix's age on the monotonic clock, applied to the wall clock that
        // also supplies the core's `now`: the age stays exact even when the
        // device's wall clock is off or Location.time came from GNSS time.
        val ageNanos = SystemClock.elapsedRealtimeNanos() - location.elapsedRealtimeNanos
        return Fix(
            lat = location.latitude,
            lon = location.longitude,
            accuracyM = location.accuracy.toDouble(),
            capturedAt = clock.instant().minusNanos(ageNanos),
            isMock = if (Build.VERSION.SDK_INT >= 31) location.isMock else @Suppress("DEPRECATION") location.isFromMockProvider,
        )
    }

    @SuppressLint("MissingPermission") // a SecurityException becomes Unavailable
    private suspend fun request(): Location = suspendCancellableCoroutine { cont ->
        val done = { location: Location?, why: String ->
            if (cont.isActive) {
                if (location != null) cont.resume(location) else cont.resumeWithException(LocationException.Unavailable(why))
            }
        }
        try {
            if (Build.VERSION.SDK_INT >= 30) {
                val signal = CancellationSignal()
                cont.invokeOnCancellation { signal.cancel() }
                manager.getCurrentLocation(provider, signal, direct) { done(it, "no fix from $provider") }
            } else {
                val listener = object : LocationListener {
                    override fun onLocationChanged(location: Location) = done(location, "")
                    override fun onProviderDisabled(provider: String) = done(null, "$provider was turned off")
                    override fun onProviderEnabled(provider: String) {}
                    @Deprecated("API < 29 only")
                    override fun onStatusChanged(provider: String?, status: Int, extras: Bundle?) {}
                }
                cont.invokeOnCancellation { manager.removeUpdates(listener) }
                @Suppress("DEPRECATION")
                manager.requestSingleUpdate(provider, listener, Looper.getMainLooper())
            }
        } catch (e: SecurityException) {
            done(null, "location permission not granted")
        }
    }
}
