-- wrk script for the bare JSON route: the same body shape as sms_submit.lua.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"from":"+14155550100","to":"+442071838750","message":"bench"}'
