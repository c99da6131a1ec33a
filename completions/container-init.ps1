
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'container-init' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'container-init'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'container-init' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('forwarding', 'forwarding', [CompletionResultType]::ParameterValue, 'IPv4 forwarding and proxy ARP, now and after reboot')
            [CompletionResult]::new('lxc-net', 'lxc-net', [CompletionResultType]::ParameterValue, '/etc/default/lxc-net for addressable LXC containers')
            [CompletionResult]::new('setup', 'setup', [CompletionResultType]::ParameterValue, 'Prepare this host for a container type: the whole job')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Read-only preflight: can this host run that type?')
            [CompletionResult]::new('teardown', 'teardown', [CompletionResultType]::ParameterValue, 'Take back what setup did on this host, from its own record')
            [CompletionResult]::new('manager-config', 'manager-config', [CompletionResultType]::ParameterValue, 'Fetch and print the controller''s container manager config')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'container-init;forwarding' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('enable', 'enable', [CompletionResultType]::ParameterValue, 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1')
            [CompletionResult]::new('disable', 'disable', [CompletionResultType]::ParameterValue, 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Print the running and persisted values')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'container-init;forwarding;enable' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--no-persist', '--no-persist', [CompletionResultType]::ParameterName, 'Change the running kernel only, not /etc/sysctl.d/60-container-init.conf')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'container-init;forwarding;disable' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--no-persist', '--no-persist', [CompletionResultType]::ParameterName, 'Change the running kernel only, not /etc/sysctl.d/60-container-init.conf')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'container-init;forwarding;status' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'container-init;forwarding;help' {
            [CompletionResult]::new('enable', 'enable', [CompletionResultType]::ParameterValue, 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1')
            [CompletionResult]::new('disable', 'disable', [CompletionResultType]::ParameterValue, 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Print the running and persisted values')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'container-init;forwarding;help;enable' {
            break
        }
        'container-init;forwarding;help;disable' {
            break
        }
        'container-init;forwarding;help;status' {
            break
        }
        'container-init;forwarding;help;help' {
            break
        }
        'container-init;lxc-net' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('override', 'override', [CompletionResultType]::ParameterValue, 'Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the values in the current /etc/default/lxc-net')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put /etc/default/lxc-net.orig back')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'container-init;lxc-net;override' {
            [CompletionResult]::new('--bridge', '--bridge', [CompletionResultType]::ParameterName, 'Bridge name: letters, digits, ''-'', ''_'', ''.''; at most 15 bytes [default: lxcbr0]')
            [CompletionResult]::new('--network', '--network', [CompletionResultType]::ParameterName, 'IPv4 network in CIDR form, prefix 8 to 30 [default: 10.0.3.0/24]')
            [CompletionResult]::new('--address', '--address', [CompletionResultType]::ParameterName, 'The bridge''s address [default: the network''s first host]')
            [CompletionResult]::new('--dhcp-range', '--dhcp-range', [CompletionResultType]::ParameterName, 'First and last address handed out by DHCP [default: after the address to the last host]')
            [CompletionResult]::new('--dhcp-max', '--dhcp-max', [CompletionResultType]::ParameterName, 'Most DHCP leases at once [default: the size of the range]')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'container-init;lxc-net;show' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'container-init;lxc-net;restore' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'container-init;lxc-net;help' {
            [CompletionResult]::new('override', 'override', [CompletionResultType]::ParameterValue, 'Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the values in the current /etc/default/lxc-net')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put /etc/default/lxc-net.orig back')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'container-init;lxc-net;help;override' {
            break
        }
        'container-init;lxc-net;help;show' {
            break
        }
        'container-init;lxc-net;help;restore' {
            break
        }
        'container-init;lxc-net;help;help' {
            break
        }
        'container-init;setup' {
            [CompletionResult]::new('--controller', '--controller', [CompletionResultType]::ParameterName, 'The controller''s base URL (https://, or http:// on loopback)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file with the CA that signed the controller''s certificate')
            [CompletionResult]::new('--machine', '--machine', [CompletionResultType]::ParameterName, 'This machine''s id at the controller')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace for container names; overrides the controller''s `name`')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Total seconds for the controller, retries included')
            [CompletionResult]::new('--manager-config', '--manager-config', [CompletionResultType]::ParameterName, 'Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the host lock (and the dpkg lock) held by another process')
            [CompletionResult]::new('--runtime-timeout', '--runtime-timeout', [CompletionResultType]::ParameterName, 'The most any query, start or readiness wait on the runtime may take; past it, 75 [default: 120, or runtime-timeout in the config file]')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'lxd/incus: add this user to the runtime''s admin group (lxd, incus-admin) so that they can use the client without root')
            [CompletionResult]::new('--bridge-ipv6', '--bridge-ipv6', [CompletionResultType]::ParameterName, 'IPv6 on the bridge: none, auto (a free ULA /64 derived from /etc/machine-id and the bridge''s name) or an address/64 [default: none, or bridge-ipv6 in the config file]')
            [CompletionResult]::new('--storage-driver', '--storage-driver', [CompletionResultType]::ParameterName, 'lxd/incus: the driver of the pool `default`: dir, btrfs, lvm (thin) or zfs [default: dir, or storage-driver in the config file]')
            [CompletionResult]::new('--storage-source', '--storage-source', [CompletionResultType]::ParameterName, 'lxd/incus: where the pool lives: a block device (/dev/...), a btrfs mount (an absolute path), or an LVM volume group or ZFS pool (a name) [default: a loop file]')
            [CompletionResult]::new('--storage-size', '--storage-size', [CompletionResultType]::ParameterName, 'lxd/incus: the size of the loop file when there is no source, such as 30GiB [default: the runtime''s]')
            [CompletionResult]::new('--storage-wipe', '--storage-wipe', [CompletionResultType]::ParameterName, 'lxd/incus: a storage-source device holding a file system or partitions may be overwritten (its data is lost); a mounted or in-use device never is')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--allow-emulation', '--allow-emulation', [CompletionResultType]::ParameterName, 'kvm only: go on without hardware virtualisation; guests will be slow')
            [CompletionResult]::new('--no-install', '--no-install', [CompletionResultType]::ParameterName, 'Fail with 69 instead of installing a missing package')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'container-init;check' {
            [CompletionResult]::new('--controller', '--controller', [CompletionResultType]::ParameterName, 'The controller''s base URL (https://, or http:// on loopback)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file with the CA that signed the controller''s certificate')
            [CompletionResult]::new('--machine', '--machine', [CompletionResultType]::ParameterName, 'This machine''s id at the controller')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace for container names; overrides the controller''s `name`')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Total seconds for the controller, retries included')
            [CompletionResult]::new('--manager-config', '--manager-config', [CompletionResultType]::ParameterName, 'Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller')
            [CompletionResult]::new('--bridge-ipv6', '--bridge-ipv6', [CompletionResultType]::ParameterName, 'IPv6 on the bridge, as for setup: none, auto or an address/64')
            [CompletionResult]::new('--storage-driver', '--storage-driver', [CompletionResultType]::ParameterName, 'lxd/incus: the driver of the pool `default`: dir, btrfs, lvm (thin) or zfs [default: dir, or storage-driver in the config file]')
            [CompletionResult]::new('--storage-source', '--storage-source', [CompletionResultType]::ParameterName, 'lxd/incus: where the pool lives: a block device (/dev/...), a btrfs mount (an absolute path), or an LVM volume group or ZFS pool (a name) [default: a loop file]')
            [CompletionResult]::new('--storage-size', '--storage-size', [CompletionResultType]::ParameterName, 'lxd/incus: the size of the loop file when there is no source, such as 30GiB [default: the runtime''s]')
            [CompletionResult]::new('--storage-wipe', '--storage-wipe', [CompletionResultType]::ParameterName, 'lxd/incus: a storage-source device holding a file system or partitions may be overwritten (its data is lost); a mounted or in-use device never is')
            [CompletionResult]::new('--runtime-timeout', '--runtime-timeout', [CompletionResultType]::ParameterName, 'The most any query of the runtime may take; past it, 75 [default: 120, or runtime-timeout in the config file]')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--allow-emulation', '--allow-emulation', [CompletionResultType]::ParameterName, 'kvm only: missing hardware virtualisation is a WARN, as `setup kvm --allow-emulation` goes on without it')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'container-init;teardown' {
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for the host lock (and the dpkg lock) held by another process')
            [CompletionResult]::new('--runtime-timeout', '--runtime-timeout', [CompletionResultType]::ParameterName, 'The most any query or stop on the runtime may take; past it, 75')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('--purge-packages', '--purge-packages', [CompletionResultType]::ParameterName, 'Also purge the packages setup installed, with what apt pulled in for them that nothing else needs')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'container-init;manager-config' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the manager config for a container type, keys sorted')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'container-init;manager-config;show' {
            [CompletionResult]::new('--controller', '--controller', [CompletionResultType]::ParameterName, 'The controller''s base URL (https://, or http:// on loopback)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file with the CA that signed the controller''s certificate')
            [CompletionResult]::new('--machine', '--machine', [CompletionResultType]::ParameterName, 'This machine''s id at the controller')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace for container names; overrides the controller''s `name`')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Total seconds for the controller, retries included')
            [CompletionResult]::new('--manager-config', '--manager-config', [CompletionResultType]::ParameterName, 'Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Document format [default: yaml, or json with --output json]')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'container-init;manager-config;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the manager config for a container type, keys sorted')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'container-init;manager-config;help;show' {
            break
        }
        'container-init;manager-config;help;help' {
            break
        }
        'container-init;completions' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'container-init;man' {
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The tool''s own YAML config [default: /etc/container-init/config.yaml when it exists]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Report format on stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v info, -vv debug); RUST_LOG overrides')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (file diffs, command lines) and change nothing')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Like --dry-run, but exit 2 when anything would change')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Plain text without colours (also when NO_COLOR is set)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'container-init;help' {
            [CompletionResult]::new('forwarding', 'forwarding', [CompletionResultType]::ParameterValue, 'IPv4 forwarding and proxy ARP, now and after reboot')
            [CompletionResult]::new('lxc-net', 'lxc-net', [CompletionResultType]::ParameterValue, '/etc/default/lxc-net for addressable LXC containers')
            [CompletionResult]::new('setup', 'setup', [CompletionResultType]::ParameterValue, 'Prepare this host for a container type: the whole job')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Read-only preflight: can this host run that type?')
            [CompletionResult]::new('teardown', 'teardown', [CompletionResultType]::ParameterValue, 'Take back what setup did on this host, from its own record')
            [CompletionResult]::new('manager-config', 'manager-config', [CompletionResultType]::ParameterValue, 'Fetch and print the controller''s container manager config')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'container-init;help;forwarding' {
            [CompletionResult]::new('enable', 'enable', [CompletionResultType]::ParameterValue, 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1')
            [CompletionResult]::new('disable', 'disable', [CompletionResultType]::ParameterValue, 'Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Print the running and persisted values')
            break
        }
        'container-init;help;forwarding;enable' {
            break
        }
        'container-init;help;forwarding;disable' {
            break
        }
        'container-init;help;forwarding;status' {
            break
        }
        'container-init;help;lxc-net' {
            [CompletionResult]::new('override', 'override', [CompletionResultType]::ParameterValue, 'Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the values in the current /etc/default/lxc-net')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put /etc/default/lxc-net.orig back')
            break
        }
        'container-init;help;lxc-net;override' {
            break
        }
        'container-init;help;lxc-net;show' {
            break
        }
        'container-init;help;lxc-net;restore' {
            break
        }
        'container-init;help;setup' {
            break
        }
        'container-init;help;check' {
            break
        }
        'container-init;help;teardown' {
            break
        }
        'container-init;help;manager-config' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the manager config for a container type, keys sorted')
            break
        }
        'container-init;help;manager-config;show' {
            break
        }
        'container-init;help;completions' {
            break
        }
        'container-init;help;man' {
            break
        }
        'container-init;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
