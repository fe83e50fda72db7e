#ifndef SWITCHYARD_CCURL_SHIM_H
#define SWITCHYARD_CCURL_SHIM_H
#include <curl/curl.h>
#include <string.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one typed form
 * per kind of argument the SMTP client passes. */
static inline CURLcode switchyard_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode switchyard_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);  /* libcurl copies strings */
}
static inline CURLcode switchyard_curl_setopt_list(CURL *handle, CURLoption option, struct curl_slist *list) {
    return curl_easy_setopt(handle, option, list);  /* not copied: freed after the transfer */
}
static inline CURLcode switchyard_curl_response_code(CURL *handle, long *code) {
    return curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, code);
}

/* What one transfer needs besides its options, kept in C so that no Swift closure has to pose
 * as a C callback: the message libcurl reads (owned by the caller for the whole transfer),
 * libcurl's error text, and the server's last reply line (libcurl hands SMTP reply lines to
 * the header callback), which says why a message was refused. */
#define SWITCHYARD_CURL_REPLY_SIZE 512
typedef struct {
    const char *upload;
    size_t upload_length;
    size_t upload_offset;
    char error[CURL_ERROR_SIZE];
    char reply[SWITCHYARD_CURL_REPLY_SIZE];
} switchyard_curl_transfer;

static size_t switchyard_curl_read(char *buffer, size_t size, size_t count, void *context) {
    switchyard_curl_transfer *transfer = (switchyard_curl_transfer *)context;
    size_t left = transfer->upload_length - transfer->upload_offset;
    size_t wanted = size * count;
    size_t n = left < wanted ? left : wanted;
    memcpy(buffer, transfer->upload + transfer->upload_offset, n);
    transfer->upload_offset += n;
    return n;
}

static size_t switchyard_curl_keep_reply(char *data, size_t size, size_t count, void *context) {
    switchyard_curl_transfer *transfer = (switchyard_curl_transfer *)context;
    size_t length = size * count;
    /* Keep the first refusal (4xx/5xx): libcurl goes on to QUIT, whose "221" would replace it. */
    if (transfer->reply[0] == '4' || transfer->reply[0] == '5') return length;
    size_t kept = length < SWITCHYARD_CURL_REPLY_SIZE - 1 ? length : SWITCHYARD_CURL_REPLY_SIZE - 1;
    while (kept > 0 && (data[kept - 1] == '\r' || data[kept - 1] == '\n')) kept--;
    memcpy(transfer->reply, data, kept);
    transfer->reply[kept] = '\0';
    return length;
}

/* Points the handle at `transfer`: upload from it, error text and last reply into it. */
static inline CURLcode switchyard_curl_attach(CURL *handle, switchyard_curl_transfer *transfer) {
    CURLcode code;
    if ((code = curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, transfer->error)) != CURLE_OK) return code;
    if ((code = curl_easy_setopt(handle, CURLOPT_READFUNCTION, switchyard_curl_read)) != CURLE_OK) return code;
    if ((code = curl_easy_setopt(handle, CURLOPT_READDATA, transfer)) != CURLE_OK) return code;
    if ((code = curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L)) != CURLE_OK) return code;
    if ((code = curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, (curl_off_t)transfer->upload_length)) != CURLE_OK) return code;
    if ((code = curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, switchyard_curl_keep_reply)) != CURLE_OK) return code;
    return curl_easy_setopt(handle, CURLOPT_HEADERDATA, transfer);
}
#endif
