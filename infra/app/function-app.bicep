// The Function App on Flex Consumption (Python 3.11), running as the user-assigned identity, and
// its app settings: identity-based storage, no keys or connection strings anywhere.
param name string
param planName string
param location string
param tags object = {}
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param azureCloud string
param requiredFeatures string
param eventGridTopicAllowlist string
param auditGalleries string
param auditSubscriptions string
param auditSchedule string
@description('VERIFICATION_VM_SIZES: <region|*>[/<securityType>]=<VM size>,...; empty keeps the code\'s defaults.')
param verificationVmSizes string = ''
param keyExpiryWarningDays int = 30
param maximumInstanceCount int = 40
param instanceMemoryMB int = 2048

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Every setting the code reads is either set here or listed below with the code's default
// (tests/deploy/test_settings.py checks both ways against core/ and function_app.py).
// Left to the code's default:
// AzureWebJobsStorage: not set: no connection strings; the identity-based AzureWebJobsStorage__* below
// AzureWebJobsStorage__accountName: not set: the service URIs below name each service's host in every cloud
// ARM_ENDPOINT: the cloud's (core/azure/clouds.py), from AZURE_CLOUD
// ARM_AUDIENCE: the cloud's, from AZURE_CLOUD
// EXTRA_REGIONS: none (the cloud's known regions, core/azure/regions.py)
// ARM_CA_BUNDLE: not set in Azure (simulators only)
// ARM_READ_TIMEOUT_SECONDS: 60
// STORAGE_CONNECTION_SETTING: AzureWebJobsStorage
// POLICY_PROFILE: current (core/policy/profiles/current.json)
// POLICY_FILE: none
// TEMPLATES_DIR: templates/ beside function_app.py (shipped in the package)
// POLL_INITIAL_SECONDS: 15
// POLL_MIN_SECONDS: 2
// POLL_MAX_SECONDS: 300
// RETRY_INITIAL_SECONDS: 5
// RETRY_MAX_SECONDS: 600
// TRANSIENT_RETRY_LIMIT: 8
// RETRY_AFTER_INLINE_CAP_SECONDS: 10
// FEATURE_REGISTRATION_TIMEOUT_SECONDS: 3600
// REGISTRATION_CACHE_SECONDS: 3600
// STEP_LEASE_SECONDS: 120
// REDRIVE_GRACE_SECONDS: 60
// SNAPSHOT_POLL_SECONDS: 30
// SNAPSHOT_WAIT_TIMEOUT_SECONDS: 3600
// AUDIT_REQUIRE_CMK: true
// ARM_BUDGET_PERCENT: 50
// ARM_READ_BUCKET: 250
// ARM_READS_PER_SECOND: 25
// ARM_WRITE_BUCKET: 200
// ARM_WRITES_PER_SECOND: 10
// COMPLETION_EVENTS_QUEUE: none (no completion events)
// COMPLETION_EVENTS_TOPIC_ENDPOINT: none (no completion events)
// AUDIT_EOL_WARNING_DAYS: 30
var appSettings = [
  // Identity-based host storage; service URIs (not an account name) so every cloud gets its own hosts.
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'AzureWebJobsStorage__blobServiceUri', value: account.properties.primaryEndpoints.blob }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: account.properties.primaryEndpoints.queue }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: account.properties.primaryEndpoints.table }
  // Telemetry with the same identity (local auth is disabled on Application Insights).
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
  // azure-identity's DefaultAzureCredential picks the user-assigned identity for ARM by this.
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  { name: 'AZURE_CLOUD', value: azureCloud }
  { name: 'REQUIRED_FEATURES', value: requiredFeatures }
  { name: 'EVENTGRID_TOPIC_ALLOWLIST', value: eventGridTopicAllowlist }
  { name: 'AUDIT_SCHEDULE', value: auditSchedule }
  { name: 'AUDIT_GALLERIES', value: auditGalleries }
  { name: 'AUDIT_SUBSCRIPTIONS', value: auditSubscriptions }
  // Empty: the code's default (*=Standard_D2s_v5, */ConfidentialVM=Standard_DC2as_v5).
  { name: 'VERIFICATION_VM_SIZES', value: verificationVmSizes }
  { name: 'KEY_EXPIRY_WARNING_DAYS', value: string(keyExpiryWarningDays) }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption (FC1) has no zone-redundant plan setting in every region (none in Azure China); work is queue-driven and survives an instance loss
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: Event Grid delivers to the function and operators call GET /api/builds over the public endpoint (function key); a VNet variant is not part of this template
  // checkov:skip=CKV_AZURE_17: Event Grid cannot present a client certificate; HTTP functions use function keys
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero per queue length; state is in storage, so a lost instance loses no work
  // checkov:skip=CKV_AZURE_213: no HTTP health endpoint: the app is queue- and timer-driven, and the platform restarts failed instances
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'app' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false // build_status is protected by its function key (authLevel FUNCTION)
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${account.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: { name: 'python', version: '3.11' }
    }
  }
}

output id string = site.id
output name string = site.name
