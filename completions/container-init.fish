# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_container_init_global_optspecs
    string join \n v/verbose q/quiet root= config= dry-run check output= no-color h/help V/version
end

function __fish_container_init_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_container_init_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_container_init_using_subcommand
    set -l cmd (__fish_container_init_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c container-init -n "__fish_container_init_needs_command" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_needs_command" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_needs_command" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_needs_command" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_needs_command" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_needs_command" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_needs_command" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c container-init -n "__fish_container_init_needs_command" -s V -l version -d 'Print version'
complete -c container-init -n "__fish_container_init_needs_command" -f -a "forwarding" -d 'IPv4 forwarding and proxy ARP, now and after reboot'
complete -c container-init -n "__fish_container_init_needs_command" -f -a "lxc-net" -d '/etc/default/lxc-net for addressable LXC containers'
complete -c container-init -n "__fish_container_init_needs_command" -f -a "setup" -d 'Prepare this host for a container type: the whole job'
complete -c container-init -n "__fish_container_init_needs_command" -f -a "check" -d 'Read-only preflight: can this host run that type?'
complete -c container-init -n "__fish_container_init_needs_command" -f -a "teardown" -d 'Take back what setup did on this host, from its own record'
complete -c container-init -n "__fish_container_init_needs_command" -f -a "manager-config" -d 'Fetch and print the controller\'s container manager config'
complete -c container-init -n "__fish_container_init_needs_command" -f -a "completions" -d 'Print a completion script'
complete -c container-init -n "__fish_container_init_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c container-init -n "__fish_container_init_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -f -a "enable" -d 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -f -a "disable" -d 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -f -a "status" -d 'Print the running and persisted values'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and not __fish_seen_subcommand_from enable disable status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from enable" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from enable" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from enable" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from enable" -l no-persist -d 'Change the running kernel only, not /etc/sysctl.d/60-container-init.conf'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from enable" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from enable" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from enable" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from enable" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from disable" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from disable" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from disable" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from disable" -l no-persist -d 'Change the running kernel only, not /etc/sysctl.d/60-container-init.conf'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from disable" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from disable" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from disable" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from disable" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from status" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from status" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from status" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from status" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from status" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from status" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from help" -f -a "status" -d 'Print the running and persisted values'
complete -c container-init -n "__fish_container_init_using_subcommand forwarding; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -f -a "override" -d 'Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -f -a "show" -d 'Print the values in the current /etc/default/lxc-net'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -f -a "restore" -d 'Put /etc/default/lxc-net.orig back'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and not __fish_seen_subcommand_from override show restore help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l bridge -d 'Bridge name: letters, digits, \'-\', \'_\', \'.\'; at most 15 bytes [default: lxcbr0]' -r
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l network -d 'IPv4 network in CIDR form, prefix 8 to 30 [default: 10.0.3.0/24]' -r
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l address -d 'The bridge\'s address [default: the network\'s first host]' -r
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l dhcp-range -d 'First and last address handed out by DHCP [default: after the address to the last host]' -r
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l dhcp-max -d 'Most DHCP leases at once [default: the size of the range]' -r
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from override" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from show" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from show" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from show" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from show" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from show" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from show" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from restore" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from restore" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from restore" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from restore" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from restore" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from restore" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from restore" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from restore" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from help" -f -a "override" -d 'Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the values in the current /etc/default/lxc-net'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from help" -f -a "restore" -d 'Put /etc/default/lxc-net.orig back'
complete -c container-init -n "__fish_container_init_using_subcommand lxc-net; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l controller -d 'The controller\'s base URL (https://, or http:// on loopback)' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l token-file -d 'File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l ca-cert -d 'PEM file with the CA that signed the controller\'s certificate' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l machine -d 'This machine\'s id at the controller' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l namespace -d 'Namespace for container names; overrides the controller\'s `name`' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l timeout -d 'Total seconds for the controller, retries included' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l manager-config -d 'Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l lock-timeout -d 'Seconds to wait for the host lock (and the dpkg lock) held by another process' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l runtime-timeout -d 'The most any query, start or readiness wait on the runtime may take; past it, 75 [default: 120, or runtime-timeout in the config file]' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l user -d 'lxd/incus: add this user to the runtime\'s admin group (lxd, incus-admin) so that they can use the client without root' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l bridge-ipv6 -d 'IPv6 on the bridge: none, auto (a free ULA /64 derived from /etc/machine-id and the bridge\'s name) or an address/64 [default: none, or bridge-ipv6 in the config file]' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l storage-driver -d 'lxd/incus: the driver of the pool `default`: dir, btrfs, lvm (thin) or zfs [default: dir, or storage-driver in the config file]' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l storage-source -d 'lxd/incus: where the pool lives: a block device (/dev/...), a btrfs mount (an absolute path), or an LVM volume group or ZFS pool (a name) [default: a loop file]' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l storage-size -d 'lxd/incus: the size of the loop file when there is no source, such as 30GiB [default: the runtime\'s]' -r
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l storage-wipe -d 'lxd/incus: a storage-source device holding a file system or partitions may be overwritten (its data is lost); a mounted or in-use device never is' -r -f -a "true\t''
false\t''"
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l allow-emulation -d 'kvm only: go on without hardware virtualisation; guests will be slow'
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l no-install -d 'Fail with 69 instead of installing a missing package'
complete -c container-init -n "__fish_container_init_using_subcommand setup" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand setup" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand setup" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand setup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c container-init -n "__fish_container_init_using_subcommand check" -l controller -d 'The controller\'s base URL (https://, or http:// on loopback)' -r
complete -c container-init -n "__fish_container_init_using_subcommand check" -l token-file -d 'File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand check" -l ca-cert -d 'PEM file with the CA that signed the controller\'s certificate' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand check" -l machine -d 'This machine\'s id at the controller' -r
complete -c container-init -n "__fish_container_init_using_subcommand check" -l namespace -d 'Namespace for container names; overrides the controller\'s `name`' -r
complete -c container-init -n "__fish_container_init_using_subcommand check" -l timeout -d 'Total seconds for the controller, retries included' -r
complete -c container-init -n "__fish_container_init_using_subcommand check" -l manager-config -d 'Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand check" -l bridge-ipv6 -d 'IPv6 on the bridge, as for setup: none, auto or an address/64' -r
complete -c container-init -n "__fish_container_init_using_subcommand check" -l storage-driver -d 'lxd/incus: the driver of the pool `default`: dir, btrfs, lvm (thin) or zfs [default: dir, or storage-driver in the config file]' -r
complete -c container-init -n "__fish_container_init_using_subcommand check" -l storage-source -d 'lxd/incus: where the pool lives: a block device (/dev/...), a btrfs mount (an absolute path), or an LVM volume group or ZFS pool (a name) [default: a loop file]' -r
complete -c container-init -n "__fish_container_init_using_subcommand check" -l storage-size -d 'lxd/incus: the size of the loop file when there is no source, such as 30GiB [default: the runtime\'s]' -r
complete -c container-init -n "__fish_container_init_using_subcommand check" -l storage-wipe -d 'lxd/incus: a storage-source device holding a file system or partitions may be overwritten (its data is lost); a mounted or in-use device never is' -r -f -a "true\t''
false\t''"
complete -c container-init -n "__fish_container_init_using_subcommand check" -l runtime-timeout -d 'The most any query of the runtime may take; past it, 75 [default: 120, or runtime-timeout in the config file]' -r
complete -c container-init -n "__fish_container_init_using_subcommand check" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand check" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand check" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand check" -l allow-emulation -d 'kvm only: missing hardware virtualisation is a WARN, as `setup kvm --allow-emulation` goes on without it'
complete -c container-init -n "__fish_container_init_using_subcommand check" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand check" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand check" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand check" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand check" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -l lock-timeout -d 'Seconds to wait for the host lock (and the dpkg lock) held by another process' -r
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -l runtime-timeout -d 'The most any query or stop on the runtime may take; past it, 75' -r
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -l purge-packages -d 'Also purge the packages setup installed, with what apt pulled in for them that nothing else needs'
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand teardown" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Print the manager config for a container type, keys sorted'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l controller -d 'The controller\'s base URL (https://, or http:// on loopback)' -r
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l token-file -d 'File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l ca-cert -d 'PEM file with the CA that signed the controller\'s certificate' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l machine -d 'This machine\'s id at the controller' -r
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l namespace -d 'Namespace for container names; overrides the controller\'s `name`' -r
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l timeout -d 'Total seconds for the controller, retries included' -r
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l manager-config -d 'Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l format -d 'Document format [default: yaml, or json with --output json]' -r -f -a "yaml\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the manager config for a container type, keys sorted'
complete -c container-init -n "__fish_container_init_using_subcommand manager-config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c container-init -n "__fish_container_init_using_subcommand completions" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand completions" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand completions" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand completions" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand completions" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand completions" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand completions" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand completions" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand man" -l root -d 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand man" -l config -d 'The tool\'s own YAML config [default: /etc/container-init/config.yaml when it exists]' -r -F
complete -c container-init -n "__fish_container_init_using_subcommand man" -l output -d 'Report format on stdout' -r -f -a "text\t''
json\t''"
complete -c container-init -n "__fish_container_init_using_subcommand man" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
complete -c container-init -n "__fish_container_init_using_subcommand man" -s q -l quiet -d 'Only errors on stderr'
complete -c container-init -n "__fish_container_init_using_subcommand man" -l dry-run -d 'Print the plan (file diffs, command lines) and change nothing'
complete -c container-init -n "__fish_container_init_using_subcommand man" -l check -d 'Like --dry-run, but exit 2 when anything would change'
complete -c container-init -n "__fish_container_init_using_subcommand man" -l no-color -d 'Plain text without colours (also when NO_COLOR is set)'
complete -c container-init -n "__fish_container_init_using_subcommand man" -s h -l help -d 'Print help'
complete -c container-init -n "__fish_container_init_using_subcommand help; and not __fish_seen_subcommand_from forwarding lxc-net setup check teardown manager-config completions man help" -f -a "forwarding" -d 'IPv4 forwarding and proxy ARP, now and after reboot'
complete -c container-init -n "__fish_container_init_using_subcommand help; and not __fish_seen_subcommand_from forwarding lxc-net setup check teardown manager-config completions man help" -f -a "lxc-net" -d '/etc/default/lxc-net for addressable LXC containers'
complete -c container-init -n "__fish_container_init_using_subcommand help; and not __fish_seen_subcommand_from forwarding lxc-net setup check teardown manager-config completions man help" -f -a "setup" -d 'Prepare this host for a container type: the whole job'
complete -c container-init -n "__fish_container_init_using_subcommand help; and not __fish_seen_subcommand_from forwarding lxc-net setup check teardown manager-config completions man help" -f -a "check" -d 'Read-only preflight: can this host run that type?'
complete -c container-init -n "__fish_container_init_using_subcommand help; and not __fish_seen_subcommand_from forwarding lxc-net setup check teardown manager-config completions man help" -f -a "teardown" -d 'Take back what setup did on this host, from its own record'
complete -c container-init -n "__fish_container_init_using_subcommand help; and not __fish_seen_subcommand_from forwarding lxc-net setup check teardown manager-config completions man help" -f -a "manager-config" -d 'Fetch and print the controller\'s container manager config'
complete -c container-init -n "__fish_container_init_using_subcommand help; and not __fish_seen_subcommand_from forwarding lxc-net setup check teardown manager-config completions man help" -f -a "completions" -d 'Print a completion script'
complete -c container-init -n "__fish_container_init_using_subcommand help; and not __fish_seen_subcommand_from forwarding lxc-net setup check teardown manager-config completions man help" -f -a "man" -d 'Print the man page (roff)'
complete -c container-init -n "__fish_container_init_using_subcommand help; and not __fish_seen_subcommand_from forwarding lxc-net setup check teardown manager-config completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c container-init -n "__fish_container_init_using_subcommand help; and __fish_seen_subcommand_from forwarding" -f -a "enable" -d 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1'
complete -c container-init -n "__fish_container_init_using_subcommand help; and __fish_seen_subcommand_from forwarding" -f -a "disable" -d 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0'
complete -c container-init -n "__fish_container_init_using_subcommand help; and __fish_seen_subcommand_from forwarding" -f -a "status" -d 'Print the running and persisted values'
complete -c container-init -n "__fish_container_init_using_subcommand help; and __fish_seen_subcommand_from lxc-net" -f -a "override" -d 'Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig'
complete -c container-init -n "__fish_container_init_using_subcommand help; and __fish_seen_subcommand_from lxc-net" -f -a "show" -d 'Print the values in the current /etc/default/lxc-net'
complete -c container-init -n "__fish_container_init_using_subcommand help; and __fish_seen_subcommand_from lxc-net" -f -a "restore" -d 'Put /etc/default/lxc-net.orig back'
complete -c container-init -n "__fish_container_init_using_subcommand help; and __fish_seen_subcommand_from manager-config" -f -a "show" -d 'Print the manager config for a container type, keys sorted'
