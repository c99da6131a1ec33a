#compdef container-init

autoload -U is-at-least

_container-init() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_container-init_commands" \
"*::: :->container-init" \
&& ret=0
    case $state in
    (container-init)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-command-$line[1]:"
        case $line[1] in
            (forwarding)
_arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
":: :_container-init__subcmd__forwarding_commands" \
"*::: :->forwarding" \
&& ret=0

    case $state in
    (forwarding)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-forwarding-command-$line[1]:"
        case $line[1] in
            (enable)
_arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'--no-persist[Change the running kernel only, not /etc/sysctl.d/60-container-init.conf]' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(disable)
_arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'--no-persist[Change the running kernel only, not /etc/sysctl.d/60-container-init.conf]' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_container-init__subcmd__forwarding__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-forwarding-help-command-$line[1]:"
        case $line[1] in
            (enable)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(disable)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(lxc-net)
_arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
":: :_container-init__subcmd__lxc-net_commands" \
"*::: :->lxc-net" \
&& ret=0

    case $state in
    (lxc-net)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-lxc-net-command-$line[1]:"
        case $line[1] in
            (override)
_arguments "${_arguments_options[@]}" : \
'--bridge=[Bridge name\: letters, digits, '\''-'\'', '\''_'\'', '\''.'\''; at most 15 bytes \[default\: lxcbr0\]]:NAME:_default' \
'--network=[IPv4 network in CIDR form, prefix 8 to 30 \[default\: 10.0.3.0/24\]]:CIDR:_default' \
'--address=[The bridge'\''s address \[default\: the network'\''s first host\]]:IPV4:_default' \
'--dhcp-range=[First and last address handed out by DHCP \[default\: after the address to the last host\]]:START,END:_default' \
'--dhcp-max=[Most DHCP leases at once \[default\: the size of the range\]]:N:_default' \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(restore)
_arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_container-init__subcmd__lxc-net__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-lxc-net-help-command-$line[1]:"
        case $line[1] in
            (override)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(restore)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(setup)
_arguments "${_arguments_options[@]}" : \
'--controller=[The controller'\''s base URL (https\://, or http\:// on loopback)]:URL:_default' \
'--token-file=[File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)]:FILE:_files' \
'--ca-cert=[PEM file with the CA that signed the controller'\''s certificate]:FILE:_files' \
'--machine=[This machine'\''s id at the controller]:ID:_default' \
'--namespace=[Namespace for container names; overrides the controller'\''s \`name\`]:NAME:_default' \
'--timeout=[Total seconds for the controller, retries included]:SECONDS:_default' \
'--manager-config=[Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller]:FILE:_files' \
'--lock-timeout=[Seconds to wait for the host lock (and the dpkg lock) held by another process]:SECONDS:_default' \
'--runtime-timeout=[The most any query, start or readiness wait on the runtime may take; past it, 75 \[default\: 120, or runtime-timeout in the config file\]]:SECONDS:_default' \
'--user=[lxd/incus\: add this user to the runtime'\''s admin group (lxd, incus-admin) so that they can use the client without root]:NAME:_default' \
'--bridge-ipv6=[IPv6 on the bridge\: none, auto (a free ULA /64 derived from /etc/machine-id and the bridge'\''s name) or an address/64 \[default\: none, or bridge-ipv6 in the config file\]]:none|auto|ADDR/64:_default' \
'--storage-driver=[lxd/incus\: the driver of the pool \`default\`\: dir, btrfs, lvm (thin) or zfs \[default\: dir, or storage-driver in the config file\]]:DRIVER:_default' \
'--storage-source=[lxd/incus\: where the pool lives\: a block device (/dev/...), a btrfs mount (an absolute path), or an LVM volume group or ZFS pool (a name) \[default\: a loop file\]]:SOURCE:_default' \
'--storage-size=[lxd/incus\: the size of the loop file when there is no source, such as 30GiB \[default\: the runtime'\''s\]]:SIZE:_default' \
'--storage-wipe=[lxd/incus\: a storage-source device holding a file system or partitions may be overwritten (its data is lost); a mounted or in-use device never is]::BOOL:(true false)' \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'--allow-emulation[kvm only\: go on without hardware virtualisation; guests will be slow]' \
'--no-install[Fail with 69 instead of installing a missing package]' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':container_type:((lxc\:""
lxd\:""
incus\:"Incus, LXD'\''s community successor"
kvm\:""))' \
&& ret=0
;;
(check)
_arguments "${_arguments_options[@]}" : \
'--controller=[The controller'\''s base URL (https\://, or http\:// on loopback)]:URL:_default' \
'--token-file=[File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)]:FILE:_files' \
'--ca-cert=[PEM file with the CA that signed the controller'\''s certificate]:FILE:_files' \
'--machine=[This machine'\''s id at the controller]:ID:_default' \
'--namespace=[Namespace for container names; overrides the controller'\''s \`name\`]:NAME:_default' \
'--timeout=[Total seconds for the controller, retries included]:SECONDS:_default' \
'--manager-config=[Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller]:FILE:_files' \
'--bridge-ipv6=[IPv6 on the bridge, as for setup\: none, auto or an address/64]:none|auto|ADDR/64:_default' \
'--storage-driver=[lxd/incus\: the driver of the pool \`default\`\: dir, btrfs, lvm (thin) or zfs \[default\: dir, or storage-driver in the config file\]]:DRIVER:_default' \
'--storage-source=[lxd/incus\: where the pool lives\: a block device (/dev/...), a btrfs mount (an absolute path), or an LVM volume group or ZFS pool (a name) \[default\: a loop file\]]:SOURCE:_default' \
'--storage-size=[lxd/incus\: the size of the loop file when there is no source, such as 30GiB \[default\: the runtime'\''s\]]:SIZE:_default' \
'--storage-wipe=[lxd/incus\: a storage-source device holding a file system or partitions may be overwritten (its data is lost); a mounted or in-use device never is]::BOOL:(true false)' \
'--runtime-timeout=[The most any query of the runtime may take; past it, 75 \[default\: 120, or runtime-timeout in the config file\]]:SECONDS:_default' \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'--allow-emulation[kvm only\: missing hardware virtualisation is a WARN, as \`setup kvm --allow-emulation\` goes on without it]' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':container_type:((lxc\:""
lxd\:""
incus\:"Incus, LXD'\''s community successor"
kvm\:""))' \
&& ret=0
;;
(teardown)
_arguments "${_arguments_options[@]}" : \
'--lock-timeout=[Seconds to wait for the host lock (and the dpkg lock) held by another process]:SECONDS:_default' \
'--runtime-timeout=[The most any query or stop on the runtime may take; past it, 75]:SECONDS:_default' \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'--purge-packages[Also purge the packages setup installed, with what apt pulled in for them that nothing else needs]' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':container_type:((lxc\:""
lxd\:""
incus\:"Incus, LXD'\''s community successor"
kvm\:""))' \
&& ret=0
;;
(manager-config)
_arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
":: :_container-init__subcmd__manager-config_commands" \
"*::: :->manager-config" \
&& ret=0

    case $state in
    (manager-config)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-manager-config-command-$line[1]:"
        case $line[1] in
            (show)
_arguments "${_arguments_options[@]}" : \
'--controller=[The controller'\''s base URL (https\://, or http\:// on loopback)]:URL:_default' \
'--token-file=[File holding the controller token (the token itself may come from CONTAINER_INIT_TOKEN)]:FILE:_files' \
'--ca-cert=[PEM file with the CA that signed the controller'\''s certificate]:FILE:_files' \
'--machine=[This machine'\''s id at the controller]:ID:_default' \
'--namespace=[Namespace for container names; overrides the controller'\''s \`name\`]:NAME:_default' \
'--timeout=[Total seconds for the controller, retries included]:SECONDS:_default' \
'--manager-config=[Read the manager config from FILE (JSON or flat YAML; - for stdin) instead of the controller]:FILE:_files' \
'--format=[Document format \[default\: yaml, or json with --output json\]]:FORMAT:(yaml json)' \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':container_type:((lxc\:""
lxd\:""
incus\:"Incus, LXD'\''s community successor"
kvm\:""))' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_container-init__subcmd__manager-config__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-manager-config-help-command-$line[1]:"
        case $line[1] in
            (show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(completions)
_arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
':shell:(bash elvish fish powershell zsh)' \
&& ret=0
;;
(man)
_arguments "${_arguments_options[@]}" : \
'--root=[Prefix for every path read or written (/etc, /proc/sys, /run/lock); commands run are not prefixed]:DIR:_files' \
'--config=[The tool'\''s own YAML config \[default\: /etc/container-init/config.yaml when it exists\]]:FILE:_files' \
'--output=[Report format on stdout]:FORMAT:(text json)' \
'*-v[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'*--verbose[More log output on stderr (-v info, -vv debug); RUST_LOG overrides]' \
'(-v --verbose)-q[Only errors on stderr]' \
'(-v --verbose)--quiet[Only errors on stderr]' \
'(--check)--dry-run[Print the plan (file diffs, command lines) and change nothing]' \
'--check[Like --dry-run, but exit 2 when anything would change]' \
'--no-color[Plain text without colours (also when NO_COLOR is set)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_container-init__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-help-command-$line[1]:"
        case $line[1] in
            (forwarding)
_arguments "${_arguments_options[@]}" : \
":: :_container-init__subcmd__help__subcmd__forwarding_commands" \
"*::: :->forwarding" \
&& ret=0

    case $state in
    (forwarding)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-help-forwarding-command-$line[1]:"
        case $line[1] in
            (enable)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(disable)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(lxc-net)
_arguments "${_arguments_options[@]}" : \
":: :_container-init__subcmd__help__subcmd__lxc-net_commands" \
"*::: :->lxc-net" \
&& ret=0

    case $state in
    (lxc-net)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-help-lxc-net-command-$line[1]:"
        case $line[1] in
            (override)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(restore)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(setup)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(check)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(teardown)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(manager-config)
_arguments "${_arguments_options[@]}" : \
":: :_container-init__subcmd__help__subcmd__manager-config_commands" \
"*::: :->manager-config" \
&& ret=0

    case $state in
    (manager-config)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:container-init-help-manager-config-command-$line[1]:"
        case $line[1] in
            (show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(completions)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(man)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
}

(( $+functions[_container-init_commands] )) ||
_container-init_commands() {
    local commands; commands=(
'forwarding:IPv4 forwarding and proxy ARP, now and after reboot' \
'lxc-net:/etc/default/lxc-net for addressable LXC containers' \
'setup:Prepare this host for a container type\: the whole job' \
'check:Read-only preflight\: can this host run that type?' \
'teardown:Take back what setup did on this host, from its own record' \
'manager-config:Fetch and print the controller'\''s container manager config' \
'completions:Print a completion script' \
'man:Print the man page (roff)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'container-init commands' commands "$@"
}
(( $+functions[_container-init__subcmd__check_commands] )) ||
_container-init__subcmd__check_commands() {
    local commands; commands=()
    _describe -t commands 'container-init check commands' commands "$@"
}
(( $+functions[_container-init__subcmd__completions_commands] )) ||
_container-init__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'container-init completions commands' commands "$@"
}
(( $+functions[_container-init__subcmd__forwarding_commands] )) ||
_container-init__subcmd__forwarding_commands() {
    local commands; commands=(
'enable:Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1' \
'disable:Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0' \
'status:Print the running and persisted values' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'container-init forwarding commands' commands "$@"
}
(( $+functions[_container-init__subcmd__forwarding__subcmd__disable_commands] )) ||
_container-init__subcmd__forwarding__subcmd__disable_commands() {
    local commands; commands=()
    _describe -t commands 'container-init forwarding disable commands' commands "$@"
}
(( $+functions[_container-init__subcmd__forwarding__subcmd__enable_commands] )) ||
_container-init__subcmd__forwarding__subcmd__enable_commands() {
    local commands; commands=()
    _describe -t commands 'container-init forwarding enable commands' commands "$@"
}
(( $+functions[_container-init__subcmd__forwarding__subcmd__help_commands] )) ||
_container-init__subcmd__forwarding__subcmd__help_commands() {
    local commands; commands=(
'enable:Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1' \
'disable:Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0' \
'status:Print the running and persisted values' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'container-init forwarding help commands' commands "$@"
}
(( $+functions[_container-init__subcmd__forwarding__subcmd__help__subcmd__disable_commands] )) ||
_container-init__subcmd__forwarding__subcmd__help__subcmd__disable_commands() {
    local commands; commands=()
    _describe -t commands 'container-init forwarding help disable commands' commands "$@"
}
(( $+functions[_container-init__subcmd__forwarding__subcmd__help__subcmd__enable_commands] )) ||
_container-init__subcmd__forwarding__subcmd__help__subcmd__enable_commands() {
    local commands; commands=()
    _describe -t commands 'container-init forwarding help enable commands' commands "$@"
}
(( $+functions[_container-init__subcmd__forwarding__subcmd__help__subcmd__help_commands] )) ||
_container-init__subcmd__forwarding__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'container-init forwarding help help commands' commands "$@"
}
(( $+functions[_container-init__subcmd__forwarding__subcmd__help__subcmd__status_commands] )) ||
_container-init__subcmd__forwarding__subcmd__help__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'container-init forwarding help status commands' commands "$@"
}
(( $+functions[_container-init__subcmd__forwarding__subcmd__status_commands] )) ||
_container-init__subcmd__forwarding__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'container-init forwarding status commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help_commands] )) ||
_container-init__subcmd__help_commands() {
    local commands; commands=(
'forwarding:IPv4 forwarding and proxy ARP, now and after reboot' \
'lxc-net:/etc/default/lxc-net for addressable LXC containers' \
'setup:Prepare this host for a container type\: the whole job' \
'check:Read-only preflight\: can this host run that type?' \
'teardown:Take back what setup did on this host, from its own record' \
'manager-config:Fetch and print the controller'\''s container manager config' \
'completions:Print a completion script' \
'man:Print the man page (roff)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'container-init help commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__check_commands] )) ||
_container-init__subcmd__help__subcmd__check_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help check commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__completions_commands] )) ||
_container-init__subcmd__help__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help completions commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__forwarding_commands] )) ||
_container-init__subcmd__help__subcmd__forwarding_commands() {
    local commands; commands=(
'enable:Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 1' \
'disable:Set net.ipv4.ip_forward and net.ipv4.conf.all.proxy_arp to 0' \
'status:Print the running and persisted values' \
    )
    _describe -t commands 'container-init help forwarding commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__forwarding__subcmd__disable_commands] )) ||
_container-init__subcmd__help__subcmd__forwarding__subcmd__disable_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help forwarding disable commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__forwarding__subcmd__enable_commands] )) ||
_container-init__subcmd__help__subcmd__forwarding__subcmd__enable_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help forwarding enable commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__forwarding__subcmd__status_commands] )) ||
_container-init__subcmd__help__subcmd__forwarding__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help forwarding status commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__help_commands] )) ||
_container-init__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help help commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__lxc-net_commands] )) ||
_container-init__subcmd__help__subcmd__lxc-net_commands() {
    local commands; commands=(
'override:Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig' \
'show:Print the values in the current /etc/default/lxc-net' \
'restore:Put /etc/default/lxc-net.orig back' \
    )
    _describe -t commands 'container-init help lxc-net commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__lxc-net__subcmd__override_commands] )) ||
_container-init__subcmd__help__subcmd__lxc-net__subcmd__override_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help lxc-net override commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__lxc-net__subcmd__restore_commands] )) ||
_container-init__subcmd__help__subcmd__lxc-net__subcmd__restore_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help lxc-net restore commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__lxc-net__subcmd__show_commands] )) ||
_container-init__subcmd__help__subcmd__lxc-net__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help lxc-net show commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__man_commands] )) ||
_container-init__subcmd__help__subcmd__man_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help man commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__manager-config_commands] )) ||
_container-init__subcmd__help__subcmd__manager-config_commands() {
    local commands; commands=(
'show:Print the manager config for a container type, keys sorted' \
    )
    _describe -t commands 'container-init help manager-config commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__manager-config__subcmd__show_commands] )) ||
_container-init__subcmd__help__subcmd__manager-config__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help manager-config show commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__setup_commands] )) ||
_container-init__subcmd__help__subcmd__setup_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help setup commands' commands "$@"
}
(( $+functions[_container-init__subcmd__help__subcmd__teardown_commands] )) ||
_container-init__subcmd__help__subcmd__teardown_commands() {
    local commands; commands=()
    _describe -t commands 'container-init help teardown commands' commands "$@"
}
(( $+functions[_container-init__subcmd__lxc-net_commands] )) ||
_container-init__subcmd__lxc-net_commands() {
    local commands; commands=(
'override:Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig' \
'show:Print the values in the current /etc/default/lxc-net' \
'restore:Put /etc/default/lxc-net.orig back' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'container-init lxc-net commands' commands "$@"
}
(( $+functions[_container-init__subcmd__lxc-net__subcmd__help_commands] )) ||
_container-init__subcmd__lxc-net__subcmd__help_commands() {
    local commands; commands=(
'override:Write /etc/default/lxc-net, keeping the first foreign original as lxc-net.orig' \
'show:Print the values in the current /etc/default/lxc-net' \
'restore:Put /etc/default/lxc-net.orig back' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'container-init lxc-net help commands' commands "$@"
}
(( $+functions[_container-init__subcmd__lxc-net__subcmd__help__subcmd__help_commands] )) ||
_container-init__subcmd__lxc-net__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'container-init lxc-net help help commands' commands "$@"
}
(( $+functions[_container-init__subcmd__lxc-net__subcmd__help__subcmd__override_commands] )) ||
_container-init__subcmd__lxc-net__subcmd__help__subcmd__override_commands() {
    local commands; commands=()
    _describe -t commands 'container-init lxc-net help override commands' commands "$@"
}
(( $+functions[_container-init__subcmd__lxc-net__subcmd__help__subcmd__restore_commands] )) ||
_container-init__subcmd__lxc-net__subcmd__help__subcmd__restore_commands() {
    local commands; commands=()
    _describe -t commands 'container-init lxc-net help restore commands' commands "$@"
}
(( $+functions[_container-init__subcmd__lxc-net__subcmd__help__subcmd__show_commands] )) ||
_container-init__subcmd__lxc-net__subcmd__help__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'container-init lxc-net help show commands' commands "$@"
}
(( $+functions[_container-init__subcmd__lxc-net__subcmd__override_commands] )) ||
_container-init__subcmd__lxc-net__subcmd__override_commands() {
    local commands; commands=()
    _describe -t commands 'container-init lxc-net override commands' commands "$@"
}
(( $+functions[_container-init__subcmd__lxc-net__subcmd__restore_commands] )) ||
_container-init__subcmd__lxc-net__subcmd__restore_commands() {
    local commands; commands=()
    _describe -t commands 'container-init lxc-net restore commands' commands "$@"
}
(( $+functions[_container-init__subcmd__lxc-net__subcmd__show_commands] )) ||
_container-init__subcmd__lxc-net__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'container-init lxc-net show commands' commands "$@"
}
(( $+functions[_container-init__subcmd__man_commands] )) ||
_container-init__subcmd__man_commands() {
    local commands; commands=()
    _describe -t commands 'container-init man commands' commands "$@"
}
(( $+functions[_container-init__subcmd__manager-config_commands] )) ||
_container-init__subcmd__manager-config_commands() {
    local commands; commands=(
'show:Print the manager config for a container type, keys sorted' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'container-init manager-config commands' commands "$@"
}
(( $+functions[_container-init__subcmd__manager-config__subcmd__help_commands] )) ||
_container-init__subcmd__manager-config__subcmd__help_commands() {
    local commands; commands=(
'show:Print the manager config for a container type, keys sorted' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'container-init manager-config help commands' commands "$@"
}
(( $+functions[_container-init__subcmd__manager-config__subcmd__help__subcmd__help_commands] )) ||
_container-init__subcmd__manager-config__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'container-init manager-config help help commands' commands "$@"
}
(( $+functions[_container-init__subcmd__manager-config__subcmd__help__subcmd__show_commands] )) ||
_container-init__subcmd__manager-config__subcmd__help__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'container-init manager-config help show commands' commands "$@"
}
(( $+functions[_container-init__subcmd__manager-config__subcmd__show_commands] )) ||
_container-init__subcmd__manager-config__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'container-init manager-config show commands' commands "$@"
}
(( $+functions[_container-init__subcmd__setup_commands] )) ||
_container-init__subcmd__setup_commands() {
    local commands; commands=()
    _describe -t commands 'container-init setup commands' commands "$@"
}
(( $+functions[_container-init__subcmd__teardown_commands] )) ||
_container-init__subcmd__teardown_commands() {
    local commands; commands=()
    _describe -t commands 'container-init teardown commands' commands "$@"
}

if [ "$funcstack[1]" = "_container-init" ]; then
    _container-init "$@"
else
    compdef _container-init container-init
fi
