import Foundation

/// The one conversion the Secure Enclave keystore needs that the platform
/// does not do: Security returns a P-256 public key as the X9.63 point
/// (`04 ‖ X ‖ Y`, 65 bytes), the server takes DER SubjectPublicKeyInfo. For
/// this one curve the DER is a fixed 26-byte header before the point, so a
/// constant beats pulling in an ASN.1 library. Plain Swift, so it is tested
/// on Linux too.
public enum P256PublicKey {
    /// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) … }
    static let spkiHeader = Data([
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
        0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ])

    /// DER SubjectPublicKeyInfo of an uncompressed X9.63 P-256 point.
    public static func subjectPublicKeyInfo(x963 point: Data) throws -> Data {
        guard point.count == 65, point.first == 0x04 else {
            throw FieldCheckError.InvalidInput(
                field: "public_key", reason: "not an uncompressed P-256 point (\(point.count) bytes)")
        }
        return spkiHeader + point
    }
}
