/// `server.tls` / `api.tls`: serve `wss://` and `https://` without a proxy in front. PEM files, TLS 1.2 or
/// newer; the files are read again on SIGHUP (for new connections), so renewed certificates need no restart.
public struct TLSSettings: Sendable, Equatable {
    /// The certificate chain (PEM), leaf first, resolved against the configuration's folder.
    public var certFile: String
    /// The private key (PEM) of the leaf certificate.
    public var keyFile: String
    /// `api.tls.client_ca_file`: when set, the API listener asks every client for a certificate signed by
    /// these CAs (mutual TLS with your backends) and refuses the handshake without one.
    public var clientCAFile: String?
    /// Where the `tls:` block is written, for errors found when the files are read.
    public var location: SourceLocation

    /// Settings for these files.
    public init(certFile: String, keyFile: String, clientCAFile: String? = nil, location: SourceLocation) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.location = location
    }
}
