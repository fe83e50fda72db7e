/// `url` with the password of its userinfo replaced by `***` (`amqp://user:***@host/`), for
/// error messages and logs. Works on text that does not parse as a URL too: that is exactly
/// when a configuration error quotes it.
public func redactingPassword(in url: String) -> String {
    guard let schemeEnd = url.range(of: "://") else { return url }
    let authorityStart = schemeEnd.upperBound
    // The userinfo ends at the last `@` of the whole text, not of the authority as a parser
    // would cut it: a password with an unencoded `/`, `?` or `#` (the very URL that fails to
    // parse and gets quoted in an error) would otherwise end the authority inside the password.
    guard let at = url[authorityStart...].lastIndex(of: "@") else { return url }
    let userinfo = url[authorityStart..<at]
    guard let colon = userinfo.firstIndex(of: ":") else { return url }
    return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
}
