/// How an SMS travels: GSM-7 when every character is in the GSM 03.38 basic set or its
/// extension table (extension characters take two septets), otherwise UCS-2.
public enum SMSEncoding: String, Codable, Sendable {
    case gsm7 = "GSM-7"
    case ucs2 = "UCS-2"

    /// The encoding and the number of parts a message needs: one part holds 160 septets
    /// (GSM-7) or 70 UTF-16 units (UCS-2); concatenated parts lose room to their header and
    /// hold 153 septets or 67 units.
    public static func analyze(_ text: String) -> (encoding: SMSEncoding, segments: Int) {
        var septets = 0
        for character in text.unicodeScalars {
            if basic.contains(character) {
                septets += 1
            } else if extensionTable.contains(character) {
                septets += 2
            } else {
                let units = text.utf16.count
                return (.ucs2, units <= 70 ? 1 : (units + 66) / 67)
            }
        }
        return (.gsm7, septets <= 160 ? 1 : (septets + 152) / 153)
    }

    /// GSM 03.38 basic character set (3GPP TS 23.038, table 6.2.1).
    static let basic: Set<Unicode.Scalar> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà".unicodeScalars)

    /// The extension table, reached through an escape septet (so two septets each).
    static let extensionTable: Set<Unicode.Scalar> = Set("\u{0C}^{}\\[~]|€".unicodeScalars)
}
