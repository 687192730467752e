import GoDispatchCore
import NIOCore
import NIOSSL

/// The TLS of one listener (`server.tls` or `api.tls`): the context every new connection's handshake uses,
/// built from PEM files (TLS 1.2 or newer) and rebuilt from them on SIGHUP, so a renewed certificate
/// needs no restart. Connections already open keep the context they started with.
public final class ListenerTLS: Sendable {
    private let context: Locked<NIOSSLContext>

    /// Reads `settings`' files now; a file that does not parse is an error naming it and the `tls:` line.
    public init(_ settings: TLSSettings) throws(TLSLoadError) {
        context = Locked(try Self.makeContext(settings))
    }

    /// Reads the files again (after SIGHUP); on an error the current context stays and the error is thrown.
    public func reload(_ settings: TLSSettings) throws(TLSLoadError) {
        let fresh = try Self.makeContext(settings)
        context.withLock { $0 = fresh }
    }

    /// The handler that starts a new connection's pipeline.
    func makeHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: context.withLock { $0 })
    }

    private static func makeContext(_ settings: TLSSettings) throws(TLSLoadError) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(settings.certFile)
            guard !chain.isEmpty else { throw TLSLoadError(settings, "\(settings.certFile) holds no PEM certificate") }
            let key = try NIOSSLPrivateKey(file: settings.keyFile, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            if let clientCA = settings.clientCAFile {
                configuration.trustRoots = .file(clientCA)
                configuration.certificateVerification = .noHostnameVerification
            }
            return try NIOSSLContext(configuration: configuration)
        } catch let error as TLSLoadError {
            throw error
        } catch {
            throw TLSLoadError(
                settings, "cannot use \(settings.certFile) and \(settings.keyFile): \(error) (PEM certificate chain and its private key)")
        }
    }
}

/// A `tls:` block whose files could not be turned into a TLS context.
public struct TLSLoadError: Error, Sendable, CustomStringConvertible {
    /// Where the `tls:` block is written.
    public let location: SourceLocation
    /// What is wrong, naming the file.
    public let message: String

    init(_ settings: TLSSettings, _ message: String) {
        location = settings.location
        self.message = message
    }

    public var description: String { "\(location): error: \(message)" }
}
