#!powershell

# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil Ansible.Privilege

# Runs a batch of generic CIM and Windows-feature operations and returns one result per operation.
# It makes no licensing decisions: the action plugins on the controller do (docs/architecture.md).

$spec = @{
    options = @{
        operations = @{ type = 'list'; elements = 'dict'; required = $true }
        # A JSON object in a string, not a dict. Ansible.Basic (module_utils/csharp/Ansible.Basic.cs) registers a
        # no_log option's value for masking as noLogObject.ToString() in SetNoLogValues, which the constructor
        # runs before CheckArguments: for a dict that text is only its type name, so its values went unmasked
        # into the invocation FailJson returns when the argument check fails, before this script could act.
        # A string's ToString() is the string itself: RemoveValueConditions then replaces it wherever it
        # appears, the invocation included.
        secrets = @{ type = 'str'; no_log = $true; default = '' }
        stop_on_error = @{ type = 'bool'; default = $false }
    }
    supports_check_mode = $true
    # Module-level no_log: no "Invoked with" entry in the Windows event log at all.
    no_log = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$secrets = @{}
if ($module.Params.secrets) {
    # ParseDict reads a '{...}' string as JSON into a Dictionary[string, object] on both .NET runtimes.
    try { $secrets = [Ansible.Basic.AnsibleModule]::ParseDict($module.Params.secrets) }
    catch { $module.FailJson('secrets must be a JSON object in a string') }  # never the text: it is secret
}

function ConvertTo-CaseInsensitive($Value) {
    # Ansible.Basic gives dicts as Dictionary[string, object], whose keys are case-sensitive; operation keys
    # and CIM names are not. A PowerShell hashtable ignores case.
    if ($Value -isnot [System.Collections.IDictionary]) { return $Value }
    $table = @{}
    foreach ($k in $Value.Keys) { $table[$k] = $Value[$k] }
    $table
}

# What this module may touch, and nothing more: the namespaces and classes, each class's methods (those
# that change nothing, which may run in check mode, and those that change the host), the registry keys
# (HKLM only), the services and the Windows features the collection needs. The executor keeps the list
# of read-only methods itself: a caller's 'read_only' flag is not trusted. The lab reads these tables
# from this file.
$allowed = @{
    'root/cimv2' = @('Win32_TSLicenseServer', 'Win32_TSLicenseKeyPack', 'Win32_TSIssuedLicense', 'Win32_Service', 'Win32_OperatingSystem', 'Win32_ComputerSystem')
    'root/cimv2/TerminalServices' = @('Win32_TerminalServiceSetting')
    'root/default' = @('StdRegProv')
}
$readOnlyMethods = @{
    'Win32_TSLicenseServer' = @('GetActivationStatus', 'GetLicenseServerId', 'IsLSPublished', 'IsLSinTSLSGroup')
    'Win32_TerminalServiceSetting' = @('GetSpecifiedLicenseServerList', 'GetGracePeriodDays', 'GetTStoLSConnectivityStatus')
    'StdRegProv' = @('GetDWORDValue', 'GetStringValue', 'GetMultiStringValue', 'EnumValues', 'EnumKey')
}
# The RD Licensing Diagnoser's checks (issue 15), read-only [W32]: added to the table above.
$readOnlyMethods['Win32_TSLicenseServer'] += @('IsLSSecGrpGPEnabled', 'IsSecureAccessAllowed', 'IsLSRegisteredToSCP')
$readOnlyMethods['Win32_TerminalServiceSetting'] += @('FindLicenseServers')
# The CAL pack marker key's ACL (issue 9): read it (restricting it is in $changingMethods below).
$readOnlyMethods['StdRegProv'] += @('GetSecurityDescriptor')
# The Per User usage report (issue 13), Server 2012 and later [W32]: its Fetch* methods read a report.
$allowed['root/cimv2'] += @('Win32_TSLicenseReport')
$readOnlyMethods['Win32_TSLicenseReport'] += @('FetchReportSummaryEntries', 'FetchReportEntries', 'FetchReportPerDeviceEntries', 'FetchReportFailedPerUserEntries', 'FetchReportFailedPerUserSummaryEntries')
$changingMethods = @{
    'Win32_TSLicenseServer' = @('ActivateServer', 'ActivateServerAutomatic', 'DeactivateServerAutomatic', 'ReactivateServerAutomatic', 'ChangeRole', 'PublishLS', 'UnpublishLS', 'AddLStoTSLSGroup', 'RemoveLSfromTSLSGroup')
    'Win32_TSLicenseKeyPack' = @('InstallAgreementLicenseKeyPack', 'InstallOpenLicenseKeyPack', 'InstallRetailPurchaseLicenseKeyPack', 'InstallLicenseKeyPack', 'UninstallLicenseKeyPackWithId')
    'Win32_TSIssuedLicense' = @('Revoke')
    'Win32_TerminalServiceSetting' = @('ChangeMode', 'SetSpecifiedLicenseServerList')
    'Win32_Service' = @('StartService', 'ChangeStartMode')
    'Win32_OperatingSystem' = @('Win32ShutdownTracker')
    'StdRegProv' = @('SetDWORDValue', 'SetStringValue', 'SetMultiStringValue', 'CreateKey', 'DeleteValue')
}
# GenerateReportEx and DeleteReport create and remove report files on the license server.
$changingMethods['Win32_TSLicenseReport'] += @('GenerateReportEx', 'DeleteReport')
# The CAL pack marker key's ACL (issue 9): restricted to SYSTEM and Administrators.
$changingMethods['StdRegProv'] += @('SetSecurityDescriptor')
# The one key whose access rules SetSecurityDescriptor may replace: the CAL pack marker key (issue 9).
$securityKeys = @('SOFTWARE\Ansible\RemoteDesktopLicensing')
$registryKeys = @('SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services', 'SOFTWARE\Microsoft\Windows NT\CurrentVersion', 'SOFTWARE\Ansible\RemoteDesktopLicensing', 'SYSTEM\CurrentControlSet\Services\TermService\Parameters')
$services = @('TermServLicensing')
$features = @('RDS-Licensing', 'RDS-Licensing-UI', 'RSAT-RDS-Licensing-Diagnosis-UI', 'RDS-RD-Server')
# The privileges an operation may have enabled for its call ('privileges'): Win32ShutdownTracker needs
# SE_SHUTDOWN_NAME ([W32 wmi] win32shutdowntracker-method-in-class-win32-operatingsystem, Remarks).
$privileges = @('SeShutdownPrivilege')
$HKLM = 2147483650  # StdRegProv hDefKey HKEY_LOCAL_MACHINE (0x80000002)

# The fields each kind needs, and the kinds that change nothing (they may run in check mode).
$requiredFields = @{
    cim_get = @('namespace', 'class'); cim_invoke = @('namespace', 'class', 'method'); cim_set = @('namespace', 'class', 'properties')
    feature_get = @('names'); feature_install = @('names'); feature_uninstall = @('names')
}
$readOnlyKinds = @('cim_get', 'feature_get', 'cim_class')
# cim_class: a class's declaration (Get-CimClass), for the read-only preflight.
$requiredFields['cim_class'] += @('namespace', 'class')

function New-BridgeError([string]$Message, [string]$Kind) {
    # An error this script raises itself, marked with the kind to report: only these are reported as the
    # caller's fault; an ArgumentException a cmdlet throws is a cim_error or feature_error.
    $e = [System.ArgumentException]::new($Message)
    $e.Data['host_bridge_kind'] = $Kind
    $e
}

function New-InputError([string]$Message) { New-BridgeError $Message 'invalid_operation' }

function Get-Instance($Op) {
    # The instances a cim_set or an instance method acts on; none is an error, never a silent success.
    $targets = @(Get-Target $Op)
    if ($targets.Count -eq 0) { throw (New-BridgeError "no instance of $($Op['class']) matches the filter '$($Op['filter'])'" 'not_found') }
    $targets
}

function ConvertTo-BridgeValue($Value, $Omit) {
    # JSON-safe values: datetimes as ISO 8601 UTC, instances as dicts, arrays as lists. $Omit: property names
    # left out of every instance (a cim_invoke's omit_properties), so that they never leave the host.
    if ($null -eq $Value) { return $null }
    if ($Value -is [datetime]) {
        return $Value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [Microsoft.Management.Infrastructure.CimInstance]) {
        $dict = @{}
        foreach ($p in $Value.CimInstanceProperties) {
            if (-not (@($Omit) -contains $p.Name)) { $dict[$p.Name] = ConvertTo-BridgeValue $p.Value $Omit }
        }
        return $dict
    }
    if ($Value -is [array]) { return , @($Value | ForEach-Object { ConvertTo-BridgeValue $_ $Omit }) }
    return $Value
}

function ConvertTo-CimScalar($Value, [type]$Type, $CimType, [string]$Name) {
    # Strict: the same rules as the lab's coerce(). Never echoes the value: it may be a secret.
    $bad = "cannot convert the value of '$Name' to CIM type $CimType"
    if ($Value -is [System.Collections.IDictionary] -or $Value -is [System.Collections.IList]) { throw (New-InputError $bad) }
    if ($Type -eq [bool]) {
        if ($Value -is [bool]) { return $Value }
        throw (New-InputError $bad)
    }
    if ($Type -eq [string]) {
        if ($Value -is [bool]) { return "$Value".ToLowerInvariant() }
        return [System.Convert]::ToString($Value, [System.Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [string]) {
        if ($Value -notmatch '^\s*-?\d+\s*$') { throw (New-InputError $bad) }
        $Value = $Value.Trim()
    }
    elseif ($Value -is [bool] -or $Value -is [double] -or $Value -is [decimal] -or $Value -is [single]) {
        throw (New-InputError $bad)
    }
    try { [System.Management.Automation.LanguagePrimitives]::ConvertTo($Value, $Type, [System.Globalization.CultureInfo]::InvariantCulture) }
    catch { throw (New-InputError $bad) }
}

function ConvertTo-CimInstanceArgument($Value, [string]$Name) {
    # An embedded instance argument (StdRegProv.SetSecurityDescriptor's Descriptor) arrives as a dict with
    # cim_class, properties and types: the CIM type of each scalar property, which a client-only instance has
    # no schema to take from. A dict or list of dicts in properties is a nested instance, built the same way.
    if ($Value -isnot [System.Collections.IDictionary] -or -not $Value['cim_class'] -or $Value['properties'] -isnot [System.Collections.IDictionary]) {
        throw (New-InputError "'$Name' must be an instance: a dict with cim_class and properties")
    }
    $types = if ($Value['types']) { $Value['types'] } else { @{} }
    $properties = @{}
    foreach ($k in $Value['properties'].Keys) {
        $v = $Value['properties'][$k]
        if ($types.ContainsKey($k)) { $properties[$k] = ConvertTo-CimValue $v $types[$k] $k }
        elseif ($v -is [System.Collections.IDictionary]) { $properties[$k] = ConvertTo-CimInstanceArgument $v $k }
        elseif ($v -is [System.Collections.IList] -and $v.Count -and $v[0] -is [System.Collections.IDictionary]) {
            $properties[$k] = [Microsoft.Management.Infrastructure.CimInstance[]]@(foreach ($item in $v) { ConvertTo-CimInstanceArgument $item $k })
        }
        else { $properties[$k] = $v }
    }
    New-CimInstance -ClientOnly -ClassName $Value['cim_class'] -Property $properties -ErrorAction Stop
}

function ConvertTo-CimValue($Value, $CimType, [string]$Name) {
    # JSON numbers arrive as Int32/Int64; providers declare UInt32 and friends (rd-licensing-wmi.md §11).
    $typeName = "$CimType"
    $isArray = $typeName.EndsWith('Array')
    if ($isArray) { $typeName = $typeName.Substring(0, $typeName.Length - 5) }
    $types = @{
        UInt8 = [byte]; SInt8 = [sbyte]; UInt16 = [uint16]; SInt16 = [int16]; UInt32 = [uint32]; SInt32 = [int32]
        UInt64 = [uint64]; SInt64 = [int64]; Boolean = [bool]; String = [string]
    }
    $type = $types[$typeName]
    if ($null -eq $Value) { return $null }
    if ($typeName -ceq 'Instance') {
        if (-not $isArray) { return ConvertTo-CimInstanceArgument $Value $Name }
        return , [Microsoft.Management.Infrastructure.CimInstance[]]@(foreach ($item in @($Value)) { ConvertTo-CimInstanceArgument $item $Name })
    }
    if ($null -eq $type) {
        if ($Value -is [array]) { return , $Value }  # ',' stops PowerShell unrolling the list
        return $Value
    }
    if (-not $isArray) { return ConvertTo-CimScalar $Value $type $CimType $Name }
    foreach ($item in @($Value)) { if ($null -eq $item) { throw (New-InputError "'$Name' has a null item") } }
    $items = @(foreach ($item in @($Value)) { ConvertTo-CimScalar $item $type $CimType $Name })
    return , [System.Management.Automation.LanguagePrimitives]::ConvertTo($items, $type.MakeArrayType())
}

function Get-Target($Op) {
    $params = @{ Namespace = $Op['namespace']; ClassName = $Op['class']; ErrorAction = 'Stop' }
    if ($Op['filter']) { $params.Filter = $Op['filter'] }
    if ($Op['properties'] -is [System.Collections.IList] -and $Op['properties'].Count) { $params.Property = [string[]]$Op['properties'] }
    @(Get-CimInstance @params)
}

function Get-ClassDeclaration($Op) {
    # Get-CimClass: the class as this host declares it (methods, their parameters with In/Out, properties).
    $class = Get-CimClass -Namespace $Op['namespace'] -ClassName $Op['class'] -ErrorAction Stop
    $properties = @($class.CimClassProperties | ForEach-Object { @{ name = $_.Name; cim_type = "$($_.CimType)"; qualifiers = @($_.Qualifiers.Name) } })
    $methods = @($class.CimClassMethods | ForEach-Object {
            $parameters = @($_.Parameters | ForEach-Object { @{ name = $_.Name; cim_type = "$($_.CimType)"; qualifiers = @($_.Qualifiers.Name) } })
            @{ name = $_.Name; static = $null -ne $_.Qualifiers['Static']; parameters = $parameters }
        })
    @{ declaration = @{ name = $class.CimClassName; properties = $properties; methods = $methods } }
}

function Invoke-CimGet($Op) {
    @{ instances = @(Get-Target $Op | ForEach-Object { ConvertTo-BridgeValue $_ }) }
}

function Get-MethodArgument($Op) {
    $arguments = @{}
    $given = @{}
    if ($Op['arguments']) { foreach ($k in $Op['arguments'].Keys) { $given[$k] = $Op['arguments'][$k] } }
    if ($Op['secret_arguments']) {
        foreach ($k in $Op['secret_arguments'].Keys) {
            $secretName = $Op['secret_arguments'][$k]
            if (-not $secrets.ContainsKey($secretName)) { throw (New-InputError "unknown secret '$secretName'") }
            $given[$k] = $secrets[$secretName]
        }
    }
    if ($given.Count -eq 0) { return $arguments }
    $class = Get-CimClass -Namespace $Op['namespace'] -ClassName $Op['class'] -ErrorAction Stop
    $method = $class.CimClassMethods[$Op['method']]
    foreach ($k in $given.Keys) {
        # An unknown method or parameter is passed through untouched: Windows rejects it itself.
        $declared = if ($method) { $method.Parameters[$k] } else { $null }
        if ($declared) { $arguments[$k] = ConvertTo-CimValue $given[$k] $declared.CimType $k }
        else { $arguments[$k] = $given[$k] }
    }
    $arguments
}

function ConvertFrom-MethodResult($Result, $Omit) {
    # Invoke-CimMethod returns one property per out parameter, ReturnValue included, plus PSComputerName.
    $out = @{}
    foreach ($p in $Result.PSObject.Properties) {
        if (-not (@('ReturnValue', 'PSComputerName') -ccontains $p.Name)) { $out[$p.Name] = ConvertTo-BridgeValue $p.Value $Omit }
    }
    @{ return_value = $Result.ReturnValue; out = $out }
}

function New-PrivilegeEnabler($Op) {
    # A privilege the page requires must be enabled in the caller's token, not only held, and a WinRM logon
    # holds its privileges disabled (Restart-Computer enables SeShutdownPrivilege before the same call).
    # ansible-core's Ansible.Privilege enables them (strict: fails if one is not held) until Dispose.
    if ($Op['privileges']) { [Ansible.Privilege.PrivilegeEnabler]::new($true, [string[]]$Op['privileges']) }
}

function Invoke-CimCall($Op) {
    $arguments = Get-MethodArgument $Op
    $enabler = New-PrivilegeEnabler $Op
    try {
        if ($Op['instances']) {
            $calls = @(Get-Instance $Op | ForEach-Object {
                    ConvertFrom-MethodResult (Invoke-CimMethod -InputObject $_ -MethodName $Op['method'] -Arguments $arguments -ErrorAction Stop) $Op['omit_properties']
                })
            $bad = @($calls | Where-Object { $_.return_value -ne 0 })
            $first = if ($bad.Count) { $bad[0] } else { $calls[0] }
            return @{ calls = $calls; return_value = $first.return_value; out = $first.out }
        }
        $params = @{ Namespace = $Op['namespace']; ClassName = $Op['class']; MethodName = $Op['method']; Arguments = $arguments }
        ConvertFrom-MethodResult (Invoke-CimMethod @params -ErrorAction Stop) $Op['omit_properties']
    }
    finally { if ($enabler) { $enabler.Dispose() } }
}

function Invoke-CimSet($Op) {
    foreach ($instance in (Get-Instance $Op)) {
        $properties = @{}
        foreach ($k in $Op['properties'].Keys) {
            $declared = $instance.CimInstanceProperties[$k]
            if ($declared) { $properties[$k] = ConvertTo-CimValue $Op['properties'][$k] $declared.CimType $k }
            else { $properties[$k] = $Op['properties'][$k] }
        }
        Set-CimInstance -InputObject $instance -Property $properties -ErrorAction Stop
    }
    $readBack = @{ namespace = $Op['namespace']; class = $Op['class']; filter = $Op['filter'] }
    @{ instances = @(Get-Target $readBack | ForEach-Object { ConvertTo-BridgeValue $_ }) }
}

function Invoke-ServerManager([string]$Command, [hashtable]$Parameters) {
    if (-not $IsCoreCLR) { return & $Command @Parameters }
    # PowerShell 7 loads ServerManager through implicit remoting, which serializes results one level
    # deep; run it in Windows PowerShell as ansible.windows win_feature does.
    $xml = Start-Job -PSVersion 5.1 -ArgumentList $Command, $Parameters -ScriptBlock {
        param($Command, $Parameters)
        $ErrorActionPreference = 'Stop'
        Import-Module -Name ServerManager
        [System.Management.Automation.PSSerializer]::Serialize(@(& $Command @Parameters), 4)
    } | Receive-Job -AutoRemoveJob -Wait
    [System.Management.Automation.PSSerializer]::Deserialize($xml)
}

function Invoke-Feature($Op) {
    $params = @{ Name = [string[]]$Op['names']; ErrorAction = 'Stop' }
    if ($Op['kind'] -ceq 'feature_get') {
        $features = @(Invoke-ServerManager 'Get-WindowsFeature' $params | ForEach-Object {
                @{ name = $_.Name; display_name = $_.DisplayName; installed = [bool]$_.Installed; install_state = "$($_.InstallState)" }
            })
        return @{ features = $features }
    }
    if ($Op['include_management_tools']) { $params.IncludeManagementTools = $true }
    $command = if ($Op['kind'] -ceq 'feature_install') { 'Install-WindowsFeature' } else { 'Uninstall-WindowsFeature' }
    $result = Invoke-ServerManager $command $params
    if (-not $result.Success) { throw "$command reported failure (exit code $($result.ExitCode))" }
    @{
        success = [bool]$result.Success
        restart_needed = "$($result.RestartNeeded)"
        exit_code = "$($result.ExitCode)"
        changed_features = @($result.FeatureResult | ForEach-Object { $_.Name })
    }
}

function Get-Argument($Op, [string]$Name) {
    # Hashtable keys ignore case, as CIM parameter names do.
    if ($Op['arguments'] -is [System.Collections.IDictionary]) { return $Op['arguments'][$Name] }
    $null
}

function Test-Shape($Op, [string]$Kind) {
    # The operation's fields have the shapes the kind needs; otherwise why not, in words.
    if ($null -ne $Op['arguments'] -and $Op['arguments'] -isnot [System.Collections.IDictionary]) { return "'arguments' must be a dict" }
    if ($null -ne $Op['secret_arguments'] -and $Op['secret_arguments'] -isnot [System.Collections.IDictionary]) { return "'secret_arguments' must be a dict" }
    if ($Kind -ceq 'cim_set' -and ($Op['properties'] -isnot [System.Collections.IDictionary] -or $Op['properties'].Count -eq 0)) { return "a 'cim_set' operation needs 'properties', a dict of at least one property" }
    if ($Kind -ceq 'cim_get' -and $null -ne $Op['properties'] -and $Op['properties'] -isnot [System.Collections.IList]) { return "'properties' of a 'cim_get' operation must be a list" }
    if ($Kind -clike 'feature_*' -and $Op['names'] -isnot [System.Collections.IList]) { return "'names' must be a list" }
    if ($null -ne $Op['privileges'] -and $Op['privileges'] -isnot [System.Collections.IList]) { return "'privileges' must be a list" }
    $omit = $Op['omit_properties']
    if ($null -ne $omit -and ($omit -isnot [System.Collections.IList] -or @($omit | Where-Object { $_ -isnot [string] }).Count)) { return "'omit_properties' must be a list of property names" }
    $null
}

function Test-Allowed($Op, [string]$Kind) {
    # The allowlist: why the operation is refused, or $null when it may run.
    if ($Kind -clike 'feature_*') {
        $unknown = @($Op['names'] | Where-Object { -not ($features -contains $_) })
        if ($unknown.Count) { return "the feature(s) $($unknown -join ', ') are not on the bridge's allowlist" }
        return $null
    }
    if (-not ($allowed[$Op['namespace']] -contains $Op['class'])) { return "$($Op['namespace']):$($Op['class']) is not on the bridge's allowlist" }
    # A class's declaration names no registry key, service or instance: the class is all it needs.
    if ($Kind -ceq 'cim_class') { return $null }
    if ($Op['privileges']) {
        $unknown = @($Op['privileges'] | Where-Object { -not ($privileges -contains $_) })
        if ($unknown.Count) { return "the privilege(s) $($unknown -join ', ') are not on the bridge's allowlist" }
    }
    if ($Kind -ceq 'cim_invoke' -and -not (@($readOnlyMethods[$Op['class']]) + @($changingMethods[$Op['class']]) -contains $Op['method'])) {
        return "$($Op['class']).$($Op['method']) is not on the bridge's allowlist"
    }
    if ($Op['class'] -eq 'StdRegProv') {
        $hive = Get-Argument $Op 'hDefKey'
        if ($null -ne $hive -and "$hive" -ne "$HKLM") { return "only HKEY_LOCAL_MACHINE is on the bridge's allowlist" }
        if (-not ($registryKeys -contains (Get-Argument $Op 'sSubKeyName'))) { return "the registry key is not on the bridge's allowlist" }
        if ($Op['method'] -like '*SecurityDescriptor' -and -not ($securityKeys -contains (Get-Argument $Op 'sSubKeyName'))) { return "only the keys $($securityKeys -join ', ') may have their security read or set" }
    }
    if ($Op['class'] -eq 'Win32_Service') {
        $named = "$($Op['filter'])" -match "^\s*Name\s*=\s*'([^']*)'\s*$"
        if (-not $named -or -not ($services -contains $Matches[1])) { return "only the services $($services -join ', ') are on the bridge's allowlist (filter Name = '...')" }
    }
    $null
}

function Test-ReadOnly($Op, [string]$Kind) {
    # From the executor's own table, whatever the caller says.
    ($readOnlyKinds -ccontains $Kind) -or ($Kind -ceq 'cim_invoke' -and @($readOnlyMethods[$Op['class']]) -contains $Op['method'])
}

function Invoke-Operation($Op) {
    $kind = "$($Op['kind'])"
    if (-not ($requiredFields.Keys -ccontains $kind)) {
        return @{ ok = $false; error = @{ kind = 'invalid_operation'; message = "unknown operation kind '$kind'" } }
    }
    foreach ($field in $requiredFields[$kind]) {
        if ($null -eq $Op[$field] -or "$($Op[$field])" -eq '') {
            return @{ ok = $false; error = @{ kind = 'invalid_operation'; message = "a '$kind' operation needs '$field'" } }
        }
    }
    $shape = Test-Shape $Op $kind
    if ($shape) { return @{ ok = $false; error = @{ kind = 'invalid_operation'; message = $shape } } }
    $refusal = Test-Allowed $Op $kind
    if ($refusal) { return @{ ok = $false; error = @{ kind = 'not_allowed'; message = $refusal } } }
    if ($module.CheckMode -and -not (Test-ReadOnly $Op $kind)) {
        return @{ ok = $false; error = @{ kind = 'check_mode'; message = "a '$kind' operation that is not read-only does not run in check mode" } }
    }
    try {
        $data = switch -CaseSensitive ($kind) {
            'cim_get' { Invoke-CimGet $Op }
            'cim_invoke' { Invoke-CimCall $Op }
            'cim_set' { Invoke-CimSet $Op }
            'cim_class' { Get-ClassDeclaration $Op }
            default { Invoke-Feature $Op }
        }
        if ($kind -ceq 'cim_invoke' -and $data.return_value -ne 0) {
            return @{ ok = $false; error = @{ kind = 'return_value'; return_value = $data.return_value; out = $data.out; message = "$($Op['method']) returned $($data.return_value)" } }
        }
        $data.ok = $true
        return $data
    }
    catch [Microsoft.Management.Infrastructure.CimException] {
        $e = $_.Exception
        $code = $null
        if ($e.ErrorData -and $e.ErrorData.CimInstanceProperties['error_Code']) { $code = $e.ErrorData.CimInstanceProperties['error_Code'].Value }
        $errorKind = switch ("$($e.NativeErrorCode)") {
            'InvalidClass' { 'invalid_class' }
            'InvalidNamespace' { 'invalid_namespace' }
            default { 'cim_error' }
        }
        return @{ ok = $false; error = @{ kind = $errorKind; native_error = "$($e.NativeErrorCode)"; hresult = $code; message = $e.Message.Trim() } }
    }
    catch {
        $e = $_.Exception
        # Only this script's own errors carry a kind; a cmdlet's ArgumentException is not the caller's fault.
        $errorKind = if ($e.Data -and $e.Data.Contains('host_bridge_kind')) { $e.Data['host_bridge_kind'] } elseif ($kind -clike 'feature_*') { 'feature_error' } else { 'cim_error' }
        return @{ ok = $false; error = @{ kind = $errorKind; message = $e.Message } }
    }
}

$results = [System.Collections.Generic.List[object]]@()
$failed = $false
foreach ($given in $module.Params.operations) {
    $op = ConvertTo-CaseInsensitive $given
    foreach ($field in @('arguments', 'secret_arguments', 'properties')) { $op[$field] = ConvertTo-CaseInsensitive $op[$field] }
    # stop_on_error skips what follows a failure, except operations marked 'always' (verification reads).
    $result = if ($failed -and $module.Params.stop_on_error -and -not $op['always']) {
        @{ ok = $false; error = @{ kind = 'skipped'; message = 'skipped after an earlier operation failed' } }
    }
    else { Invoke-Operation $op }
    $result.id = $op['id']
    $result.kind = $op['kind']
    if (-not $result.ok) { $failed = $true }
    # Every call that changes the host reports changed: cim_set, a method not on the read-only list, a
    # feature install or removal that changed a feature.
    $kind = "$($op['kind'])"
    $mutating = ($kind -ceq 'cim_set') -or ($kind -ceq 'cim_invoke' -and -not (Test-ReadOnly $op $kind)) -or ($kind -clike 'feature_*install' -and $result.changed_features.Count)
    if ($result.ok -and $mutating) { $module.Result.changed = $true }
    $results.Add($result)
}
$module.Result.results = $results
$module.ExitJson()
