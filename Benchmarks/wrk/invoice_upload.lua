-- wrk script for POST /api/sender/invoices: a 100 KiB PDF through multipart/form-data, as a
-- sender's client would upload it (seed 001's peak is 50 a second).
local boundary = "switchyard-bench-boundary"
local file = "%PDF-1.4\n" .. string.rep("0123456789abcdef", 6400)  -- 102,409 bytes
wrk.method = "POST"
wrk.headers["Authorization"] = "sender 1"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"receiver_id\"\r\n\r\n2\r\n"
  .. "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"invoice.pdf\"\r\n"
  .. "Content-Type: application/pdf\r\n\r\n" .. file .. "\r\n--" .. boundary .. "--\r\n"
