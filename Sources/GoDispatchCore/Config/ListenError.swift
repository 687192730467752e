#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A listener that cannot bind its address. The message names the address, the configuration key that
/// set it and what to do.
public struct ListenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The listeners a configuration declares.
    public enum Listener: String, Sendable, Equatable {
        /// The WebSocket listener (`server.listen`).
        case server
        /// The backend API (`api.listen`).
        case api
        /// `/metrics` on its own address (`metrics.listen`).
        case metrics

        /// The configuration key: `server.listen`, `api.listen` or `metrics.listen`.
        public var key: String { "\(rawValue).listen" }

        /// The `godispatch serve` option that overrides the key's port.
        public var portOption: String {
            switch self {
            case .server: "--port"
            case .api: "--api-port"
            case .metrics: "--metrics-port"
            }
        }
    }

    /// Why the address cannot be bound.
    public enum Kind: Sendable, Equatable {
        /// Another socket listens there (`EADDRINUSE`).
        case addressInUse
        /// A privileged port without the privilege (`EACCES`).
        case permissionDenied
        /// The host is no address of this machine (`EADDRNOTAVAIL`).
        case addressNotAvailable
        /// The host name does not resolve.
        case unresolvedHost
        /// Another failure, described by the error's `detail`.
        case other
    }

    /// The listener.
    public let listener: Listener
    /// The host it was to bind.
    public let host: String
    /// The port it was to bind.
    public let port: Int
    /// What went wrong.
    public let kind: Kind
    /// The underlying error, for ``Kind/other``.
    public let detail: String

    /// An error of `kind` for `listener` on `host:port`.
    public init(listener: Listener, host: String, port: Int, kind: Kind, detail: String = "") {
        self.listener = listener
        self.host = host
        self.port = port
        self.kind = kind
        self.detail = detail
    }

    /// The error a failed `bind(2)` with `errno` means.
    public init(listener: Listener, host: String, port: Int, errno code: Int32, detail: String) {
        let kind: Kind =
            switch code {
            case EADDRINUSE: .addressInUse
            case EACCES: .permissionDenied
            case EADDRNOTAVAIL: .addressNotAvailable
            default: .other
            }
        self.init(listener: listener, host: host, port: port, kind: kind, detail: detail)
    }

    /// `host:port`, bracketed for IPv6.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public var description: String {
        let head = "cannot listen on \(address) (`\(listener.key)`)"
        let elsewhere = "choose another port in `\(listener.key)` or with \(listener.portOption)"
        switch kind {
        case .addressInUse:
            return "\(head): the address is already in use, probably by another server (`ss -ltnp 'sport = :\(port)'` "
                + "names it); stop that process or \(elsewhere)"
        case .permissionDenied:
            return "\(head): permission denied (ports below 1024 need privileges); \(elsewhere)"
        case .addressNotAvailable:
            return "\(head): \(host) is no address of this machine; use 127.0.0.1, 0.0.0.0 or one of its addresses "
                + "in `\(listener.key)`"
        case .unresolvedHost:
            return "\(head): the host name \(host) does not resolve; fix the host in `\(listener.key)`"
        case .other:
            return "\(head): \(detail)"
        }
    }
}
