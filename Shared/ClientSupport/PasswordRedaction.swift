/// `url` with the password of its userinfo replaced by `***` (`amqp://user:***@host/`), for
/// error messages and logs. Works on text that does not parse as a URL too: that is exactly
/// when a configuration error quotes it.
public func redactingPassword(in url: String) -> String {
    guard let schemeEnd = url.range(of: "://") else { return url }
    let authorityStart = schemeEnd.upperBound
    let authorityEnd = url[authorityStart...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? url.endIndex
    let authority = url[authorityStart..<authorityEnd]
    guard let at = authority.lastIndex(of: "@") else { return url }
    let userinfo = authority[..<at]
    guard let colon = userinfo.firstIndex(of: ":") else { return url }
    return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
}
