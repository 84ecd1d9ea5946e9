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
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

# The only namespaces and classes this module may touch. The lab reads this table from this file.
$allowed = @{
    'root/cimv2' = @('Win32_TSLicenseServer', 'Win32_TSLicenseKeyPack', 'Win32_TSIssuedLicense', 'Win32_Service', 'Win32_OperatingSystem', 'Win32_ComputerSystem')
    'root/cimv2/TerminalServices' = @('Win32_TerminalServiceSetting')
    'root/default' = @('StdRegProv')
}

# Operations that change nothing, so they may run in check mode.
$readOnlyKinds = @('cim_get', 'feature_get')

function ConvertTo-BridgeValue($Value) {
    # JSON-safe values: datetimes as ISO 8601 UTC, instances as dicts, arrays as lists.
    if ($null -eq $Value) { return $null }
    if ($Value -is [datetime]) { return $Value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') }
    if ($Value -is [Microsoft.Management.Infrastructure.CimInstance]) {
        $dict = @{}
        foreach ($p in $Value.CimInstanceProperties) { $dict[$p.Name] = ConvertTo-BridgeValue $p.Value }
        return $dict
    }
    if ($Value -is [array]) { return , @($Value | ForEach-Object { ConvertTo-BridgeValue $_ }) }
    return $Value
}

function ConvertTo-CimValue($Value, $CimType) {
    # JSON numbers arrive as Int32/Int64; convert to the type the class declares (e.g. UInt32).
    $name = "$CimType"
    $isArray = $name.EndsWith('Array')
    if ($isArray) { $name = $name.Substring(0, $name.Length - 5) }
    $types = @{
        UInt8 = [byte]; SInt8 = [sbyte]; UInt16 = [uint16]; SInt16 = [int16]; UInt32 = [uint32]; SInt32 = [int32]
        UInt64 = [uint64]; SInt64 = [int64]; Real32 = [single]; Real64 = [double]; Boolean = [bool]; String = [string]
    }
    $type = $types[$name]
    if ($null -eq $type -or $null -eq $Value) { return $Value }
    if ($isArray) { $type = $type.MakeArrayType() }
    try {
        return [System.Management.Automation.LanguagePrimitives]::ConvertTo($Value, $type)
    }
    catch {
        throw [System.ArgumentException]"cannot convert '$Value' to CIM type $CimType"
    }
}

function Assert-Allowed($Op) {
    $classes = $allowed[$Op['namespace']]
    if ($null -eq $classes -or $classes -notcontains $Op['class']) {
        throw [System.UnauthorizedAccessException]"$($Op['namespace']):$($Op['class']) is not on the bridge's allowlist"
    }
}

function Get-Target($Op) {
    $params = @{ Namespace = $Op['namespace']; ClassName = $Op['class']; ErrorAction = 'Stop' }
    if ($Op['filter']) { $params.Filter = $Op['filter'] }
    if ($Op['properties'] -is [System.Collections.IList]) { $params.Property = [string[]]$Op['properties'] }
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
        $arguments[$k] = if ($declared) { ConvertTo-CimValue $given[$k] $declared.CimType } else { $given[$k] }
    }
    $arguments
}

function ConvertFrom-MethodResult($Result) {
    $out = @{}
    foreach ($p in $Result.PSObject.Properties) {
        if ($p.Name -notin @('ReturnValue', 'PSComputerName')) { $out[$p.Name] = ConvertTo-BridgeValue $p.Value }
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
            $properties[$k] = if ($declared) { ConvertTo-CimValue $Op['properties'][$k] $declared.CimType } else { $Op['properties'][$k] }
        }
        Set-CimInstance -InputObject $instance -Property $properties -ErrorAction Stop
    }
    $readBack = @{ namespace = $Op['namespace']; class = $Op['class']; filter = $Op['filter'] }
    @{ instances = @(Get-Target $readBack | ForEach-Object { ConvertTo-BridgeValue $_ }) }
}

function Invoke-Feature($Op) {
    $params = @{ Name = [string[]]$Op['names']; ErrorAction = 'Stop' }
    if ($Op['kind'] -eq 'feature_get') {
        $features = @(Get-WindowsFeature @params | ForEach-Object {
                @{ name = $_.Name; display_name = $_.DisplayName; installed = [bool]$_.Installed; install_state = "$($_.InstallState)" }
            })
        return @{ features = $features }
    }
    if ($Op['include_management_tools']) { $params.IncludeManagementTools = $true }
    $result = if ($Op['kind'] -eq 'feature_install') { Install-WindowsFeature @params } else { Uninstall-WindowsFeature @params }
    @{
        success = [bool]$result.Success
        restart_needed = "$($result.RestartNeeded)"
        exit_code = "$($result.ExitCode)"
        changed_features = @($result.FeatureResult | ForEach-Object { $_.Name })
    }
}

function Invoke-Operation($Op) {
    $kind = $Op['kind']
    if ($module.CheckMode -and $kind -notin $readOnlyKinds -and -not ($kind -eq 'cim_invoke' -and $Op['read_only'])) {
        return @{ ok = $false; error = @{ kind = 'check_mode'; message = "a '$kind' operation that is not read-only does not run in check mode" } }
    }
    try {
        if ($kind -like 'cim_*') { Assert-Allowed $Op }
        $data = switch ($kind) {
            'cim_get' { Invoke-CimGet $Op }
            'cim_invoke' { Invoke-CimCall $Op }
            'cim_set' { Invoke-CimSet $Op }
            { $_ -in @('feature_get', 'feature_install', 'feature_uninstall') } { Invoke-Feature $Op }
            default { throw [System.ArgumentException]"unknown operation kind '$kind'" }
        }
        if ($kind -eq 'cim_invoke' -and $data.return_value -ne 0) {
            return @{ ok = $false; error = @{ kind = 'return_value'; return_value = $data.return_value; out = $data.out; message = "$($Op['method']) returned $($data.return_value)" } }
        }
        $data.ok = $true
        return $data
    }
    catch [Microsoft.Management.Infrastructure.CimException] {
        $e = $_.Exception
        $code = $null
        if ($e.ErrorData -and $e.ErrorData.CimInstanceProperties['error_Code']) { $code = $e.ErrorData.CimInstanceProperties['error_Code'].Value }
        $errorKind = switch ("$($e.NativeErrorCode)") { 'InvalidClass' { 'invalid_class' } 'InvalidNamespace' { 'invalid_namespace' } default { 'cim_error' } }
        return @{ ok = $false; error = @{ kind = $errorKind; native_error = "$($e.NativeErrorCode)"; hresult = $code; message = $e.Message.Trim() } }
    }
    catch [System.UnauthorizedAccessException] {
        return @{ ok = $false; error = @{ kind = 'not_allowed'; message = $_.Exception.Message } }
    }
    catch [System.ArgumentException] {
        return @{ ok = $false; error = @{ kind = 'invalid_operation'; message = $_.Exception.Message } }
    }
    catch {
        $errorKind = if ($kind -like 'feature_*') { 'feature_error' } else { 'cim_error' }
        return @{ ok = $false; error = @{ kind = $errorKind; message = $_.Exception.Message } }
    }
}

$results = [System.Collections.Generic.List[object]]@()
$failed = $false
foreach ($op in $module.Params.operations) {
    $result = if ($failed -and $module.Params.stop_on_error) {
        @{ ok = $false; error = @{ kind = 'skipped'; message = 'skipped after an earlier operation failed' } }
    }
    else { Invoke-Operation $op }
    $result.id = $op['id']
    $result.kind = $op['kind']
    if (-not $result.ok) { $failed = $true }
    if ($result.ok -and ($op['kind'] -eq 'cim_set' -or ($op['kind'] -like 'feature_*install' -and $result.changed_features.Count))) {
        $module.Result.changed = $true
    }
    $results.Add($result)
}
$module.Result.results = $results
$module.ExitJson()
