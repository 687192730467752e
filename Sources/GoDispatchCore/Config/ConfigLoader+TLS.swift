import Foundation
import Yams

extension ConfigLoader {
    /// Reads a `tls:` block (`server.tls`, or `api.tls`, which may also name `client_ca_file`); every file
    /// must be readable now, so a typo stops start-up at its line rather than at the first handshake.
    static func readTLS(
        _ node: Node, at path: String, allowsClientCA: Bool, base: String, reader: inout YAMLNodeReader
    ) -> TLSSettings? {
        let keys = ["cert_file", "key_file"] + (allowsClientCA ? ["client_ca_file"] : [])
        guard let members = reader.mapping(node, at: path, allowed: keys) else { return nil }
        var files: [String: String] = [:]
        for member in members {
            guard let text = reader.string(member.value, at: "\(path).\(member.key)") else { continue }
            let resolved = resolve(text, against: base)
            guard FileManager.default.isReadableFile(atPath: resolved) else {
                reader.fail(member.value, "`\(path).\(member.key)`: cannot read \(resolved) (a PEM file; check the path and its permissions)")
                continue
            }
            files[member.key] = resolved
        }
        guard let cert = files["cert_file"], let key = files["key_file"] else {
            // Files named but unreadable were reported above; here, a file not named at all.
            if !Set(members.map(\.key)).isSuperset(of: ["cert_file", "key_file"]) {
                reader.fail(node, "`\(path)` needs `cert_file` and `key_file` (PEM), e.g. { cert_file: tls/cert.pem, key_file: tls/key.pem }")
            }
            return nil
        }
        return TLSSettings(certFile: cert, keyFile: key, clientCAFile: files["client_ca_file"], location: reader.location(node))
    }
}
