package app.fieldcheck.android

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import app.fieldcheck.core.DeviceKeystore
import app.fieldcheck.core.FieldCheckException
import java.security.GeneralSecurityException
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.Signature
import java.security.spec.ECGenParameterSpec

/**
 * The device's signing key in the Android Keystore: P-256, usable only to
 * sign SHA-256 digests, generated in StrongBox when the device has one (in
 * the TEE otherwise), and never exported: only the public key and
 * signatures leave the keystore. The key survives restarts, so an enrolled
 * device stays enrolled; uninstalling the app deletes it.
 *
 * The core asks for the public key at enrolment and for a signature per
 * batch (PRODUCT.md §12.2); both calls block on the keystore and come from
 * the core's worker thread.
 */
class AndroidKeystoreDeviceKey(
    private val alias: String = DEFAULT_ALIAS,
    private val strongBox: Boolean,
) : DeviceKeystore {
    constructor(context: Context, alias: String = DEFAULT_ALIAS) : this(alias, hasStrongBox(context))

    private val lock = Any()

    /** DER SubjectPublicKeyInfo, as the server expects it. */
    override fun publicKey(): ByteArray = keystore { store ->
        privateKey(store)
        // The keystore keeps the public half in a certificate beside the key.
        store.getCertificate(alias).publicKey.encoded
    }

    /** DER ECDSA signature (SHA-256) over [message]. */
    override fun sign(message: ByteArray): ByteArray = keystore { store ->
        Signature.getInstance("SHA256withECDSA").run {
            initSign(privateKey(store))
            update(message)
            sign()
        }
    }

    /** Deletes the key (the device must enrol again). */
    fun delete() = keystore { it.deleteEntry(alias) }

    /** The key under [alias], made on first use; one thread at a time, so it is made once. */
    private fun privateKey(store: KeyStore): PrivateKey = synchronized(lock) {
        (store.getKey(alias, null) as? PrivateKey) ?: generate()
    }

    private fun generate(): PrivateKey {
        if (strongBox && Build.VERSION.SDK_INT >= 28) {
            try {
                return generate(inStrongBox = true)
            } catch (e: StrongBoxUnavailableException) {
                // Declared but busy or absent: the TEE is the next best place.
            }
        }
        return generate(inStrongBox = false)
    }

    private fun generate(inStrongBox: Boolean): PrivateKey {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            .apply { if (inStrongBox) setIsStrongBoxBacked(true) }
            .build()
        val generator = KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, PROVIDER)
        generator.initialize(spec)
        return generator.generateKeyPair().private
    }

    private fun open(): KeyStore = KeyStore.getInstance(PROVIDER).apply { load(null) }

    private inline fun <T> keystore(block: (KeyStore) -> T): T = try {
        block(open())
    } catch (e: GeneralSecurityException) {
        // The core reports it as a storage failure of the device key; nothing was sent.
        throw FieldCheckException.Storage("Android Keystore: ${e.javaClass.simpleName}: ${e.message}")
    } catch (e: java.io.IOException) {
        throw FieldCheckException.Storage("Android Keystore: ${e.message}")
    }

    companion object {
        const val DEFAULT_ALIAS = "app.fieldcheck.device-key"
        const val PROVIDER = "AndroidKeyStore"

        fun hasStrongBox(context: Context): Boolean =
            Build.VERSION.SDK_INT >= 28 &&
                context.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)
    }
}
