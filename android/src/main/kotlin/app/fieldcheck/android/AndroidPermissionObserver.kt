package app.fieldcheck.android

import android.Manifest
import android.app.Activity
import android.app.Application
import android.app.NotificationManager
import android.content.pm.PackageManager
import android.os.Build
import android.os.Bundle
import app.fieldcheck.PermissionConsentBridge
import app.fieldcheck.core.Actor
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.launch

/**
 * Feeds the platform's permission state to [PermissionConsentBridge] each
 * time an activity resumes. Android has no callback for changes made in
 * Settings: revoking a permission there kills the process, so the next start
 * reports it; granting one does not, so the return to the app reports it.
 * Call [report] yourself after a permission dialog's result.
 *
 * [signedIn] returns the current agent, or null when nobody is signed in.
 * Register once: `application.registerActivityLifecycleCallbacks(observer)`.
 * A core error while recording goes to [scope]'s CoroutineExceptionHandler.
 */
class AndroidPermissionObserver(
    private val app: Application,
    private val bridge: PermissionConsentBridge,
    private val scope: CoroutineScope,
    private val signedIn: () -> Actor?,
) : Application.ActivityLifecycleCallbacks {
    fun report() {
        val agent = signedIn() ?: return
        val granted = { p: String -> app.checkSelfPermission(p) == PackageManager.PERMISSION_GRANTED }
        val location = PermissionConsentBridge.locationState(
            fine = granted(Manifest.permission.ACCESS_FINE_LOCATION),
            coarse = granted(Manifest.permission.ACCESS_COARSE_LOCATION),
        )
        // Below API 33 there is no runtime permission, only the app's notification switch.
        val notifications = app.getSystemService(NotificationManager::class.java)?.areNotificationsEnabled() == true &&
            (Build.VERSION.SDK_INT < 33 || granted(Manifest.permission.POST_NOTIFICATIONS))
        scope.launch {
            bridge.onLocationPermission(agent, location)
            bridge.onNotificationPermission(agent, notifications)
        }
    }

    override fun onActivityResumed(activity: Activity) = report()
    override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) {}
    override fun onActivityStarted(activity: Activity) {}
    override fun onActivityPaused(activity: Activity) {}
    override fun onActivityStopped(activity: Activity) {}
    override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) {}
    override fun onActivityDestroyed(activity: Activity) {}
}
