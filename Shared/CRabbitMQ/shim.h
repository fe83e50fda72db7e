#ifndef SWITCHYARD_CRABBITMQ_SHIM_H
#define SWITCHYARD_CRABBITMQ_SHIM_H
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

/* amqp_login is variadic, which Swift cannot call: wrap the PLAIN-auth form. */
static inline amqp_rpc_reply_t switchyard_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                          int channel_max, int frame_max, int heartbeat,
                                                          const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

/* Method ids are macros with casts, which Swift does not import: re-export them as constants. */
static const amqp_method_number_t switchyard_basic_ack_method = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t switchyard_basic_nack_method = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t switchyard_basic_return_method = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t switchyard_basic_deliver_method = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t switchyard_basic_get_ok_method = AMQP_BASIC_GET_OK_METHOD;
static const amqp_method_number_t switchyard_basic_cancel_method = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t switchyard_channel_close_method = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t switchyard_channel_close_ok_method = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t switchyard_connection_close_method = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t switchyard_connection_close_ok_method = AMQP_CONNECTION_CLOSE_OK_METHOD;
static const amqp_method_number_t switchyard_connection_blocked_method = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t switchyard_connection_unblocked_method = AMQP_CONNECTION_UNBLOCKED_METHOD;
#endif
