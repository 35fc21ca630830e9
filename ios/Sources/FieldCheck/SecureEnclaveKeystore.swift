#if canImport(Security)
import FieldCheckCore
import Foundation
import Security

/// The device's signing key in the Secure Enclave: P-256, made there and
/// never leaving it (Security hands out only the public key and
/// signatures), kept in the keychain under `tag` so it survives restarts,
/// usable after the first unlock and on this device only (not in backups).
/// Where there is no Secure Enclave (the Simulator, old Macs) the key is
/// made in the keychain instead, as Android falls back from StrongBox to
/// the TEE.
///
/// The core asks for the public key at enrolment and a signature per batch
/// (PRODUCT.md §12.2), from the service's queue.
///
/// Apple platforms only: Linux has no Security framework, and its tests use
/// the core's `softwareKeystore()` (the DER encoding is tested there).
public final class SecureEnclaveKeystore: DeviceKeystore, @unchecked Sendable {
    private let tag: Data
    private let lock = NSLock()

    public init(tag: String = "app.fieldcheck.device-key") {
        self.tag = Data(tag.utf8)
    }

    public func publicKey() throws -> Data {
        let key = try privateKey()
        guard let pub = SecKeyCopyPublicKey(key) else {
            throw FieldCheckError.Storage(reason: "Secure Enclave: no public key")
        }
        var error: Unmanaged<CFError>?
        guard let point = SecKeyCopyExternalRepresentation(pub, &error) as Data? else {
            throw failure("exporting the public key", error)
        }
        return try P256PublicKey.subjectPublicKeyInfo(x963: point)
    }

    /// DER ECDSA signature over SHA-256 of `message`.
    public func sign(message: Data) throws -> Data {
        let key = try privateKey()
        var error: Unmanaged<CFError>?
        guard let signature = SecKeyCreateSignature(key, .ecdsaSignatureMessageX962SHA256, message as CFData, &error) as Data?
        else { throw failure("signing", error) }
        return signature
    }

    /// Deletes the key (the device must enrol again).
    public func delete() {
        lock.lock()
        defer { lock.unlock() }
        SecItemDelete(query() as CFDictionary)
    }

    private func query() -> [CFString: Any] {
        [
            kSecClass: kSecClassKey,
            kSecAttrApplicationTag: tag,
            kSecAttrKeyType: kSecAttrKeyTypeECSECPrimeRandom,
        ]
    }

    private func privateKey() throws -> SecKey {
        lock.lock()
        defer { lock.unlock() }
        var lookup = query()
        lookup[kSecReturnRef] = true
        var found: CFTypeRef?
        if SecItemCopyMatching(lookup as CFDictionary, &found) == errSecSuccess, let found {
            return found as! SecKey  // swiftlint:disable:this force_cast (the query asks for a key)
        }
        do {
            return try generate(inSecureEnclave: true)
        } catch {
            return try generate(inSecureEnclave: false)
        }
    }

    private func generate(inSecureEnclave: Bool) throws -> SecKey {
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            nil, kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
            inSecureEnclave ? .privateKeyUsage : [], &error)
        else { throw failure("access control", error) }
        var attributes: [CFString: Any] = [
            kSecAttrKeyType: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrKeySizeInBits: 256,
            kSecPrivateKeyAttrs: [
                kSecAttrIsPermanent: true,
                kSecAttrApplicationTag: tag,
                kSecAttrAccessControl: access,
            ] as [CFString: Any],
        ]
        if inSecureEnclave { attributes[kSecAttrTokenID] = kSecAttrTokenIDSecureEnclave }
        guard let key = SecKeyCreateRandomKey(attributes as CFDictionary, &error) else {
            throw failure("creating the key", error)
        }
        return key
    }

    private func failure(_ what: String, _ error: Unmanaged<CFError>?) -> FieldCheckError {
        let reason = error.map { String(describing: $0.takeRetainedValue()) } ?? "unknown"
        return FieldCheckError.Storage(reason: "Secure Enclave: \(what): \(reason)")
    }
}
#endif
