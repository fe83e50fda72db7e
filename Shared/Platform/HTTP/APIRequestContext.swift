import Hummingbird
import Logging
import NIOCore

/// The request context of ingest's API: Hummingbird's core context plus the request id, which
/// handlers copy into every message they publish so one id follows the work through all stages,
/// the caller, when the request named one (``AuthenticationMiddleware``), and the address the
/// connection came from (``ClientIdentity``).
public struct APIRequestContext: RequestContext, RequestIDCarrying, PrincipalCarrying, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String?
    public var principal: Principal?
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// A context that can remember the request id chosen by ``RequestIDMiddleware``.
public protocol RequestIDCarrying {
    var requestID: String? { get set }
}
