#include "messages/registry.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

#include "messages/errors.hpp"
#include "messages/type_list.hpp"

namespace brokedancer {

void register_message_types(caf::actor_system_config& cfg) {
  for_each_message_type([&](auto tag, const char* wire_name) {
    cfg.add_message_type<typename decltype(tag)::type>(wire_name);
  });
  cfg.add_error_category(error_category,
                         [](uint8_t code, caf::atom_value, const caf::message& context) {
                           auto text = "brokedancer: " + to_string(static_cast<errc>(code));
                           if (context.match_elements<std::string>())
                             text += ": " + context.get_as<std::string>(0);
                           return text;
                         });
}

} // namespace brokedancer
