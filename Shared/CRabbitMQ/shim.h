#ifndef SWITCHYARD_CRABBITMQ_SHIM_H
#define SWITCHYARD_CRABBITMQ_SHIM_H
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

/* amqp_login is variadic, which Swift cannot call: wrap the PLAIN-auth form. The client
 * properties advertise the `connection.blocked` capability (librabbitmq merges it into its
 * defaults, which lack it): without it RabbitMQ never says that a memory or disk alarm is
 * blocking our publishes, and a publisher can only find out by timing out. */
static inline amqp_rpc_reply_t switchyard_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                          int channel_max, int frame_max, int heartbeat,
                                                          const char *user, const char *password) {
    amqp_table_entry_t capability;
    capability.key = amqp_cstring_bytes("connection.blocked");
    capability.value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capability.value.value.boolean = 1;
    amqp_table_entry_t property;
    property.key = amqp_cstring_bytes("capabilities");
    property.value.kind = AMQP_FIELD_KIND_TABLE;
    property.value.value.table.num_entries = 1;
    property.value.value.table.entries = &capability;
    amqp_table_t properties = {1, &property};
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, &properties,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
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
