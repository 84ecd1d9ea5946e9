#!powershell

# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# Runs a batch of generic CIM and Windows-feature operations and returns one result per operation.
# It makes no licensing decisions: the action plugins on the controller do (docs/architecture.md).

$spec = @{
    options = @{
        operations = @{ type = 'list'; elements = 'dict'; required = $true }
        secrets = @{ type = 'dict'; no_log = $true; default = @{} }
        stop_on_error = @{ type = 'bool'; default = $false }
    }
    supports_check_mode = $true
    # Ansible.Basic masks only ToString() of a no_log dict ("System.Collections.Hashtable"), so the
    # secrets' values would reach the "Invoked with" event-log entry: module-level no_log stops it.
    no_log = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
if ($module.Result.ContainsKey('invocation')) {
    $module.Result.invocation.module_args.secrets = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
}

# The only namespaces and classes this module may touch. The lab reads this table from this file.
$allowed = @{
    'root/cimv2' = @('Win32_TSLicenseServer', 'Win32_TSLicenseKeyPack', 'Win32_TSIssuedLicense', 'Win32_Service', 'Win32_OperatingSystem', 'Win32_ComputerSystem')
    'root/cimv2/TerminalServices' = @('Win32_TerminalServiceSetting')
    'root/default' = @('StdRegProv')
}

# The fields each kind needs, and the kinds that change nothing (they may run in check mode).
$requiredFields = @{
    cim_get = @('namespace', 'class'); cim_invoke = @('namespace', 'class', 'method'); cim_set = @('namespace', 'class', 'properties')
    feature_get = @('names'); feature_install = @('names'); feature_uninstall = @('names')
}
$readOnlyKinds = @('cim_get', 'feature_get')

function ConvertTo-BridgeValue($Value) {
    # JSON-safe values: datetimes as ISO 8601 UTC, instances as dicts, arrays as lists.
    if ($null -eq $Value) { return $null }
    if ($Value -is [datetime]) {
        return $Value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [Microsoft.Management.Infrastructure.CimInstance]) {
        $dict = @{}
        foreach ($p in $Value.CimInstanceProperties) { $dict[$p.Name] = ConvertTo-BridgeValue $p.Value }
        return $dict
    }
    if ($Value -is [array]) { return , @($Value | ForEach-Object { ConvertTo-BridgeValue $_ }) }
    return $Value
}

function ConvertTo-CimScalar($Value, [type]$Type, $CimType, [string]$Name) {
    # Strict: the same rules as the lab's coerce(). Never echoes the value: it may be a secret.
    $bad = "cannot convert the value of '$Name' to CIM type $CimType"
    if ($Value -is [System.Collections.IDictionary] -or $Value -is [System.Collections.IList]) { throw [System.ArgumentException]$bad }
    if ($Type -eq [bool]) {
        if ($Value -is [bool]) { return $Value }
        throw [System.ArgumentException]$bad
    }
    if ($Type -eq [string]) {
        if ($Value -is [bool]) { return "$Value".ToLowerInvariant() }
        return [System.Convert]::ToString($Value, [System.Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [string]) {
        if ($Value -notmatch '^\s*-?\d+\s*$') { throw [System.ArgumentException]$bad }
        $Value = $Value.Trim()
    }
    elseif ($Value -is [bool] -or $Value -is [double] -or $Value -is [decimal] -or $Value -is [single]) {
        throw [System.ArgumentException]$bad
    }
    try { [System.Management.Automation.LanguagePrimitives]::ConvertTo($Value, $Type, [System.Globalization.CultureInfo]::InvariantCulture) }
    catch { throw [System.ArgumentException]$bad }
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
    if ($null -eq $type) {
        if ($Value -is [array]) { return , $Value }  # ',' stops PowerShell unrolling the list
        return $Value
    }
    if (-not $isArray) { return ConvertTo-CimScalar $Value $type $CimType $Name }
    $items = @(foreach ($item in @($Value)) { ConvertTo-CimScalar $item $type $CimType $Name })
    return , [System.Management.Automation.LanguagePrimitives]::ConvertTo($items, $type.MakeArrayType())
}

function Get-Target($Op) {
    $params = @{ Namespace = $Op['namespace']; ClassName = $Op['class']; ErrorAction = 'Stop' }
    if ($Op['filter']) { $params.Filter = $Op['filter'] }
    if ($Op['properties'] -is [System.Collections.IList] -and $Op['properties'].Count) { $params.Property = [string[]]$Op['properties'] }
    @(Get-CimInstance @params)
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
            if (-not $module.Params.secrets.ContainsKey($secretName)) { throw [System.ArgumentException]"unknown secret '$secretName'" }
            $given[$k] = $module.Params.secrets[$secretName]
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

function ConvertFrom-MethodResult($Result) {
    # Invoke-CimMethod returns one property per out parameter, ReturnValue included, plus PSComputerName.
    $out = @{}
    foreach ($p in $Result.PSObject.Properties) {
        if (-not (@('ReturnValue', 'PSComputerName') -ccontains $p.Name)) { $out[$p.Name] = ConvertTo-BridgeValue $p.Value }
    }
    @{ return_value = $Result.ReturnValue; out = $out }
}

function Invoke-CimCall($Op) {
    $arguments = Get-MethodArgument $Op
    if ($Op['instances']) {
        $calls = @(Get-Target $Op | ForEach-Object {
                ConvertFrom-MethodResult (Invoke-CimMethod -InputObject $_ -MethodName $Op['method'] -Arguments $arguments -ErrorAction Stop)
            })
        $bad = @($calls | Where-Object { $_.return_value -ne 0 })
        $first = if ($bad.Count) { $bad[0] } elseif ($calls.Count) { $calls[0] } else { @{ return_value = 0; out = @{} } }
        return @{ calls = $calls; return_value = $first.return_value; out = $first.out }
    }
    $params = @{ Namespace = $Op['namespace']; ClassName = $Op['class']; MethodName = $Op['method']; Arguments = $arguments }
    ConvertFrom-MethodResult (Invoke-CimMethod @params -ErrorAction Stop)
}

function Invoke-CimSet($Op) {
    foreach ($instance in (Get-Target $Op)) {
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
    if ($module.CheckMode -and -not ($readOnlyKinds -ccontains $kind) -and -not ($kind -ceq 'cim_invoke' -and $Op['read_only'])) {
        return @{ ok = $false; error = @{ kind = 'check_mode'; message = "a '$kind' operation that is not read-only does not run in check mode" } }
    }
    if ($kind -clike 'cim_*' -and -not ($allowed[$Op['namespace']] -contains $Op['class'])) {
        return @{ ok = $false; error = @{ kind = 'not_allowed'; message = "$($Op['namespace']):$($Op['class']) is not on the bridge's allowlist" } }
    }
    try {
        $data = switch -CaseSensitive ($kind) {
            'cim_get' { Invoke-CimGet $Op }
            'cim_invoke' { Invoke-CimCall $Op }
            'cim_set' { Invoke-CimSet $Op }
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
    catch [System.ArgumentException] {
        return @{ ok = $false; error = @{ kind = 'invalid_operation'; message = $_.Exception.Message } }
    }
    catch {
        $errorKind = if ($kind -clike 'feature_*') { 'feature_error' } else { 'cim_error' }
        return @{ ok = $false; error = @{ kind = $errorKind; message = $_.Exception.Message } }
    }
}

$results = [System.Collections.Generic.List[object]]@()
$failed = $false
foreach ($op in $module.Params.operations) {
    # stop_on_error skips what follows a failure, except operations marked 'always' (verification reads).
    $result = if ($failed -and $module.Params.stop_on_error -and -not $op['always']) {
        @{ ok = $false; error = @{ kind = 'skipped'; message = 'skipped after an earlier operation failed' } }
    }
    else { Invoke-Operation $op }
    $result.id = $op['id']
    $result.kind = $op['kind']
    if (-not $result.ok) { $failed = $true }
    if ($result.ok -and ($op['kind'] -ceq 'cim_set' -or ($op['kind'] -clike 'feature_*install' -and $result.changed_features.Count))) {
        $module.Result.changed = $true
    }
    $results.Add($result)
}
$module.Result.results = $results
$module.ExitJson()
