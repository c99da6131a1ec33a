
use builtin;
use str;

set edit:completion:arg-completer[container-init] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'container-init'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'container-init'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand forwarding 'IPv4 forwarding and proxy ARP, now and after reboot'
            cand lxc-net '/etc/default/lxc-net for addressable LXC containers'
            cand setup 'Prepare this host for a container type: the whole job'
            cand check 'Read-only preflight: can this host run that type?'
            cand teardown 'Take back what setup did on this host, from its own record'
            cand manager-config 'Fetch and print the controller''s container manager config'
            cand completions 'Print a completion script'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'container-init;forwarding'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand enable 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1'
            cand disable 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0'
            cand status 'Print the running and persisted values'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'container-init;forwarding;enable'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand --no-persist 'Change the running kernel only, not /etc/sysctl.d/60-container-init.conf'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'container-init;forwarding;disable'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand --no-persist 'Change the running kernel only, not /etc/sysctl.d/60-container-init.conf'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'container-init;forwarding;status'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'container-init;forwarding;help'= {
            cand enable 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1'
            cand disable 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0'
            cand status 'Print the running and persisted values'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'container-init;forwarding;help;enable'= {
        }
        &'container-init;forwarding;help;disable'= {
        }
        &'container-init;forwarding;help;status'= {
        }
        &'container-init;forwarding;help;help'= {
        }
        &'container-init;lxc-net'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand override 'Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig'
            cand show 'Print the values in the current /etc/default/lxc-net'
            cand restore 'Put /etc/default/lxc-net.orig back'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'container-init;lxc-net;override'= {
            cand --bridge 'Bridge name: letters, digits, ''-'', ''_'', ''.''; at most 15 bytes [default: lxcbr0]'
            cand --network 'IPv4 network in CIDR form, prefix 8 to 30 [default: 10.0.3.0/24]'
            cand --address 'The bridge''s address [default: the network''s first host]'
            cand --dhcp-range 'First and last address handed out by DHCP [default: after the address to the last host]'
            cand --dhcp-max 'Most DHCP leases at once [default: the size of the range]'
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'container-init;lxc-net;show'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'container-init;lxc-net;restore'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'container-init;lxc-net;help'= {
            cand override 'Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig'
            cand show 'Print the values in the current /etc/default/lxc-net'
            cand restore 'Put /etc/default/lxc-net.orig back'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'container-init;lxc-net;help;override'= {
        }
        &'container-init;lxc-net;help;show'= {
        }
        &'container-init;lxc-net;help;restore'= {
        }
        &'container-init;lxc-net;help;help'= {
        }
        &'container-init;setup'= {
            cand --controller 'The controller''s base URL (https://, or http:// on loopback)'
            cand --token-file 'File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)'
            cand --ca-cert 'PEM file with the CA that signed the controller''s certificate'
            cand --machine 'This machine''s id at the controller'
            cand --namespace 'Namespace for container names; overrides the controller''s `name`'
            cand --timeout 'Total seconds for the controller, retries included'
            cand --manager-config 'Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller'
            cand --lock-timeout 'Seconds to wait for the host lock (and the dpkg lock) held by another process'
            cand --runtime-timeout 'The most any query, start or readiness wait on the runtime may take; past it, 75 [default: 120, or runtime-timeout in the config file]'
            cand --user 'lxd/incus: add this user to the runtime''s admin group (lxd, incus-admin) so that they can use the client without root'
            cand --bridge-ipv6 'IPv6 on the bridge: none, auto (a free ULA /64 derived from /etc/machine-id and the bridge''s name) or an address/64 [default: none, or bridge-ipv6 in the config file]'
            cand --storage-driver 'lxd/incus: the driver of the pool `default`: dir, btrfs, lvm (thin) or zfs [default: dir, or storage-driver in the config file]'
            cand --storage-source 'lxd/incus: where the pool lives: a block device (/dev/...), a btrfs mount (an absolute path), or an LVM volume group or ZFS pool (a name) [default: a loop file]'
            cand --storage-size 'lxd/incus: the size of the loop file when there is no source, such as 30GiB [default: the runtime''s]'
            cand --storage-wipe 'lxd/incus: a storage-source device holding a file system or partitions may be overwritten (its data is lost); a mounted or in-use device never is'
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand --allow-emulation 'kvm only: go on without hardware virtualisation; guests will be slow'
            cand --no-install 'Fail with 69 instead of installing a missing package'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'container-init;check'= {
            cand --controller 'The controller''s base URL (https://, or http:// on loopback)'
            cand --token-file 'File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)'
            cand --ca-cert 'PEM file with the CA that signed the controller''s certificate'
            cand --machine 'This machine''s id at the controller'
            cand --namespace 'Namespace for container names; overrides the controller''s `name`'
            cand --timeout 'Total seconds for the controller, retries included'
            cand --manager-config 'Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller'
            cand --bridge-ipv6 'IPv6 on the bridge, as for setup: none, auto or an address/64'
            cand --storage-driver 'lxd/incus: the driver of the pool `default`: dir, btrfs, lvm (thin) or zfs [default: dir, or storage-driver in the config file]'
            cand --storage-source 'lxd/incus: where the pool lives: a block device (/dev/...), a btrfs mount (an absolute path), or an LVM volume group or ZFS pool (a name) [default: a loop file]'
            cand --storage-size 'lxd/incus: the size of the loop file when there is no source, such as 30GiB [default: the runtime''s]'
            cand --storage-wipe 'lxd/incus: a storage-source device holding a file system or partitions may be overwritten (its data is lost); a mounted or in-use device never is'
            cand --runtime-timeout 'The most any query of the runtime may take; past it, 75 [default: 120, or runtime-timeout in the config file]'
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand --allow-emulation 'kvm only: missing hardware virtualisation is a WARN, as `setup kvm --allow-emulation` goes on without it'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'container-init;teardown'= {
            cand --lock-timeout 'Seconds to wait for the host lock (and the dpkg lock) held by another process'
            cand --runtime-timeout 'The most any query or stop on the runtime may take; past it, 75'
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand --purge-packages 'Also purge the packages setup installed, with what apt pulled in for them that nothing else needs'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'container-init;manager-config'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand show 'Print the manager config for a container type, keys sorted'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'container-init;manager-config;show'= {
            cand --controller 'The controller''s base URL (https://, or http:// on loopback)'
            cand --token-file 'File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)'
            cand --ca-cert 'PEM file with the CA that signed the controller''s certificate'
            cand --machine 'This machine''s id at the controller'
            cand --namespace 'Namespace for container names; overrides the controller''s `name`'
            cand --timeout 'Total seconds for the controller, retries included'
            cand --manager-config 'Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller'
            cand --format 'Document format [default: yaml, or json with --output json]'
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'container-init;manager-config;help'= {
            cand show 'Print the manager config for a container type, keys sorted'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'container-init;manager-config;help;show'= {
        }
        &'container-init;manager-config;help;help'= {
        }
        &'container-init;completions'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'container-init;man'= {
            cand --root 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed'
            cand --config 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]'
            cand --output 'Report format on stdout'
            cand -v 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand --verbose 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand --dry-run 'Print the plan (file diffs, command lines) and change nothing'
            cand --check 'Like --dry-run, but exit 2 when anything would change'
            cand --no-color 'Plain text without colours (also when NO_COLOR is set)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'container-init;help'= {
            cand forwarding 'IPv4 forwarding and proxy ARP, now and after reboot'
            cand lxc-net '/etc/default/lxc-net for addressable LXC containers'
            cand setup 'Prepare this host for a container type: the whole job'
            cand check 'Read-only preflight: can this host run that type?'
            cand teardown 'Take back what setup did on this host, from its own record'
            cand manager-config 'Fetch and print the controller''s container manager config'
            cand completions 'Print a completion script'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'container-init;help;forwarding'= {
            cand enable 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1'
            cand disable 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0'
            cand status 'Print the running and persisted values'
        }
        &'container-init;help;forwarding;enable'= {
        }
        &'container-init;help;forwarding;disable'= {
        }
        &'container-init;help;forwarding;status'= {
        }
        &'container-init;help;lxc-net'= {
            cand override 'Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig'
            cand show 'Print the values in the current /etc/default/lxc-net'
            cand restore 'Put /etc/default/lxc-net.orig back'
        }
        &'container-init;help;lxc-net;override'= {
        }
        &'container-init;help;lxc-net;show'= {
        }
        &'container-init;help;lxc-net;restore'= {
        }
        &'container-init;help;setup'= {
        }
        &'container-init;help;check'= {
        }
        &'container-init;help;teardown'= {
        }
        &'container-init;help;manager-config'= {
            cand show 'Print the manager config for a container type, keys sorted'
        }
        &'container-init;help;manager-config;show'= {
        }
        &'container-init;help;completions'= {
        }
        &'container-init;help;man'= {
        }
        &'container-init;help;help'= {
        }
    ]
    $completions[$command]
}
