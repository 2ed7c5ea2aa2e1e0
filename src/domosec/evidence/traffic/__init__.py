"""Evidence from traffic captures: flows, destinations and cleartext logins seen in a pcap or pcapng file (docs/traffic.md)."""
