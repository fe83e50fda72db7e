import Foundation
import NIOCore

/// Small real files for the invoice tests: a one-page PDF that qpdf opens, a PNG that decodes.
enum InvoiceFixtures {
    /// A minimal, well-formed one-page PDF with a correct cross-reference table.
    static let pdf: [UInt8] = {
        var body = "%PDF-1.4\n"
        var offsets: [Int] = []
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
        for (index, object) in objects.enumerated() {
            offsets.append(body.utf8.count)
            body += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = body.utf8.count
        body += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { body += String(format: "%010d 00000 n \n", offset) }
        body += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Array(body.utf8)
    }()

    /// A 1x1 RGB PNG (signature, IHDR, IDAT, IEND with their CRCs).
    static let png: [UInt8] = [  // written by Python's zlib and struct
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
        0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0x00,
        0x00, 0x03, 0x01, 0x01, 0x00, 0xC9, 0xFE, 0x92, 0xEF, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E,
        0x44, 0xAE, 0x42, 0x60, 0x82,
    ]

    /// Seed 001's JSON body.
    static func json(receiver: Any = 2, fileType: Any = "application/pdf", content: Any? = nil, extra: [String: Any] = [:]) -> ByteBuffer {
        var invoice: [String: Any] = ["receiver_id": receiver, "file_type": fileType]
        invoice["content"] = content ?? Data(pdf).base64EncodedString()
        for (key, value) in extra { invoice[key] = value }
        return ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: ["invoice": invoice]))
    }

    static let boundary = "switchyard-test-boundary"

    /// A multipart body: fields, then (or before them) the file.
    static func multipart(fields: [(String, String)], file: [UInt8]?, fileType: String = "application/pdf", fileFirst: Bool = false) -> ByteBuffer {
        var parts: [[UInt8]] = []
        for (name, value) in fields {
            parts.append(Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        if let file {
            let part = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"invoice\"\r\nContent-Type: \(fileType)\r\n\r\n".utf8)
                + file + Array("\r\n".utf8)
            if fileFirst { parts.insert(part, at: 0) } else { parts.append(part) }
        }
        return ByteBuffer(bytes: parts.joined() + Array("--\(boundary)--\r\n".utf8))
    }
}
