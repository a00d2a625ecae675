"""outbound: what the hotline may dial on its own. Citizens' numbers (callbacks, follow-up
calls) pass ``citizen_numbers``; agencies will be reached only through their directory."""

from outbound.citizen_numbers import (
                                      CitizenNumberPolicy,
                                      NumberPolicyError,
                                      Verdict,
                                      load_number_policy,
                                      parse_number_policy,
                                      trunk_dial_target,
)

__all__ = ["CitizenNumberPolicy", "NumberPolicyError", "Verdict", "load_number_policy",
           "parse_number_policy", "trunk_dial_target"]
