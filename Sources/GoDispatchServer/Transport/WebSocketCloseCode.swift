/// Which close codes a client may put in its close frame (RFC 6455 §7.4 and the IANA "WebSocket Close
/// Code Number Registry"). A close frame with any other code is a protocol error: the connection is
/// failed with 1002, never echoed.
///
/// - 1000–1003 and 1007–1011: defined by RFC 6455 (1011 by the registry's first update).
/// - 1012 Service Restart, 1013 Try Again Later, 1014 Bad Gateway: registered with IANA since 2012–2016,
///   so a peer may send them (Autobahn|Testsuite lists them neither as valid nor as invalid).
/// - 1004 (reserved), 1005 (no status), 1006 (abnormal closure), 1015 (TLS handshake): never on the wire.
/// - 0–999, 1016–2999: unused or reserved for future protocol revisions and extensions; none registered.
/// - 3000–3999 (libraries, frameworks, registered) and 4000–4999 (private use): always allowed.
/// - 5000 and above: outside every range the RFC defines.
enum WebSocketCloseCode {
    /// True if a client may send `code` in a close frame.
    static func isValidFromPeer(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}
