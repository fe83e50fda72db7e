import Foundation
import Platform
import Postgres

/// Where an invoice is: `received` (accepted by ingest, on its way to storage) -> `stored`
/// (the row is written) -> `available` (processing checked the file) or `rejected`; an
/// available payable invoice becomes `paid` once.
public enum InvoiceStatus: String, Codable, Sendable, CaseIterable {
    case received, stored, available, rejected, paid
}

/// The two kinds of file an invoice may carry, recognised by their leading bytes.
public enum InvoiceFileType: String, Codable, Sendable, CaseIterable {
    case pdf = "application/pdf"
    case png = "image/png"

    /// Whether `prefix` (the first bytes of the upload) starts the way this type must.
    func matches(_ prefix: some Collection<UInt8>) -> Bool {
        switch self {
        case .pdf: prefix.starts(with: Array("%PDF-".utf8))
        case .png: prefix.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        }
    }

    /// How many leading bytes ``matches(_:)`` needs.
    static var signatureLength: Int { 8 }
}

/// An invoice as the API answers it and as it travels between the stages.
public struct Invoice: Codable, Sendable, Equatable {
    public var id: UUID
    public var senderID: Int64
    public var receiverID: Int64
    public var fileType: InvoiceFileType
    public var size: Int
    public var sha256: String
    public var isPayable: Bool
    public var status: InvoiceStatus
    public var createdAt: Date
    public var paidAt: Date?
    /// Why processing refused the file (`rejected` only).
    public var rejection: String?

    enum CodingKeys: String, CodingKey {
        case id, size, sha256, status, rejection
        case senderID = "sender_id", receiverID = "receiver_id", fileType = "file_type", isPayable = "is_payable"
        case createdAt = "created_at", paidAt = "paid_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.uuidString.lowercased(), forKey: .id)
        try container.encode(senderID, forKey: .senderID)
        try container.encode(receiverID, forKey: .receiverID)
        try container.encode(fileType, forKey: .fileType)
        try container.encode(size, forKey: .size)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(isPayable, forKey: .isPayable)
        try container.encode(status, forKey: .status)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(paidAt, forKey: .paidAt)  // null until paid, as the contract lists it
        try container.encodeIfPresent(rejection, forKey: .rejection)
    }
}

/// What ingest hands to storage on `invoices.store`: the invoice, where its file is, and the
/// optional addresses to tell.
public struct ReceivedInvoice: Codable, Sendable, Equatable {
    public var invoice: Invoice
    public var blobKey: String
    public var notifyEmail: String?
    public var callbackURL: String?

    enum CodingKeys: String, CodingKey {
        case invoice
        case blobKey = "blob_key", notifyEmail = "notify_email", callbackURL = "callback_url"
    }
}

/// What the later stages pass on: which invoice (they read the rest from the row).
public struct InvoiceReference: Codable, Sendable, Equatable {
    public var id: UUID
}
