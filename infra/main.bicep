// One `azd up` (or `az deployment sub create`) deploys the CMK gallery image builder:
// a Flex Consumption Function App (Python 3.11) with one user-assigned identity for everything,
// identity-only storage, Application Insights on Log Analytics, the app's custom roles on the
// target resource groups, and an Event Grid system topic on each target subscription.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; makes the resource names unique.')
param environmentName string

@minLength(1)
@description('Region of the Function App and its storage (Flex Consumption must be offered there).')
@metadata({ azd: { type: 'location' } })
param location string

@allowed(['AzureCloud', 'AzureChinaCloud', 'AzureUSGovernment'])
@description('The cloud the app runs in (AZURE_CLOUD): ARM endpoint, token audience, storage hosts.')
param azureCloud string = 'AzureCloud'

@description('Resource groups holding galleries, disk encryption sets and build sources, comma-separated <subscriptionId>/<resourceGroup>. The builder role is assigned on each.')
param targetResourceGroups string = ''

@description('Subscriptions whose new snapshots may start builds, comma-separated <subscriptionId>/<resourceGroup>: an Event Grid system topic goes in that resource group.')
param eventGridTargets string = ''

@description('Create the event subscriptions to snapshot_written. Needs the function deployed first (azd sets it in the postdeploy hook).')
param wireEventGrid bool = false

@description('Preview features to register, comma-separated (REQUIRED_FEATURES). Empty: no registration role is created.')
param requiredFeatures string = 'Microsoft.Compute/SIGEncryption'

@description('Subscriptions where features and Microsoft.Compute are registered, comma-separated (only when requiredFeatures is not empty).')
param registrationSubscriptionIds string = ''

@description('Allow verification VMs (a request\'s `verification`): the verification role on each target resource group.')
param verifyImages bool = false

@description('Resource groups of the verification subnets, comma-separated <subscriptionId>/<resourceGroup> (with verifyImages).')
param verificationSubnetGroups string = ''

@description('Verification VM size per region and security type (VERIFICATION_VM_SIZES): <region|*>[/<securityType>]=<VM size>,... Empty: Standard_D2s_v5, and Standard_DC2as_v5 for confidential images.')
param verificationVmSizes string = ''

@description('Gallery resource IDs to audit, comma-separated (AUDIT_GALLERIES).')
param auditGalleries string = ''

@description('Subscription IDs whose galleries are all audited, comma-separated (AUDIT_SUBSCRIPTIONS); the audit role is assigned on each.')
param auditSubscriptionIds string = ''

@description('NCRONTAB schedule of the compliance audit (AUDIT_SCHEDULE).')
param auditSchedule string = '0 0 6 * * *'

@description('Where the key vaults behind the disk encryption sets live, comma-separated <subscriptionId> or <subscriptionId>/<resourceGroup>: the key chain role (vaults, key versions and role assignments, read only) is assigned on each. Empty: the pre-flight and the audit warn that they cannot read the key chain.')
param keyVaultScopes string = ''

@description('Days before a key expires from which the pre-flight and the audit warn (KEY_EXPIRY_WARNING_DAYS).')
param keyExpiryWarningDays int = 30

@description('Resource ID of the action group the alert rules notify (failed build, poison message, stuck build, ARM throttling, key health). Empty: no alert rules.')
param alertActionGroupId string = ''

@description('Principal ID of a user to grant the storage data roles (for local debugging); empty for none.')
param principalId string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.webSitesFunctions}cmk-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
// Comma-separated parameters (they travel well through azd environment variables), as lists.
var builderScopes = [
  for e in (empty(targetResourceGroups) ? [] : split(targetResourceGroups, ',')): {
    subscriptionId: split(trim(e), '/')[0]
    resourceGroup: split(trim(e), '/')[1]
  }
]
var topicScopes = [
  for e in (empty(eventGridTargets) ? [] : split(eventGridTargets, ',')): {
    subscriptionId: split(trim(e), '/')[0]
    resourceGroup: split(trim(e), '/')[1]
  }
]
var registrationSubscriptions = [
  for e in (empty(requiredFeatures) || empty(registrationSubscriptionIds) ? [] : split(registrationSubscriptionIds, ',')): trim(e)
]
var subnetScopes = [
  for e in (!verifyImages || empty(verificationSubnetGroups) ? [] : split(verificationSubnetGroups, ',')): {
    subscriptionId: split(trim(e), '/')[0]
    resourceGroup: split(trim(e), '/')[1]
  }
]
var verificationScopes = verifyImages ? builderScopes : []
var keyVaultEntries = [for e in (empty(keyVaultScopes) ? [] : split(keyVaultScopes, ',')): trim(e)]
var keyVaultGroups = [
  for e in filter(keyVaultEntries, e => contains(e, '/')): {
    subscriptionId: split(e, '/')[0]
    resourceGroup: split(e, '/')[1]
  }
]
var keyVaultSubscriptions = filter(keyVaultEntries, e => !contains(e, '/'))
var keyVaultGroupSubscriptions = [for t in keyVaultGroups: t.subscriptionId]
var auditSubscriptions = [for e in (empty(auditSubscriptionIds) ? [] : split(auditSubscriptionIds, ',')): trim(e)]
var builderSubscriptions = [for t in builderScopes: t.subscriptionId]
var thisSubscription = [subscription().subscriptionId]
var topicSubscriptions = [for t in topicScopes: '/subscriptions/${t.subscriptionId}']
var topicAllowlist = join(topicSubscriptions, ',')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'core/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}cmk-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module alerts 'core/alerts.bicep' = if (!empty(alertActionGroupId)) {
  name: 'alerts'
  scope: rg
  params: {
    applicationInsightsId: monitoring.outputs.id
    actionGroupId: alertActionGroupId
    location: location
    tags: tags
    namePrefix: 'alert-cmk-${resourceToken}'
  }
}

module storageAccess 'core/storage-access.bicep' = {
  name: 'storage-access'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.name
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
  }
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.name
    azureCloud: azureCloud
    requiredFeatures: requiredFeatures
    eventGridTopicAllowlist: topicAllowlist
    auditGalleries: auditGalleries
    auditSubscriptions: join(auditSubscriptions, ',')
    auditSchedule: auditSchedule
    verificationVmSizes: verificationVmSizes
    keyExpiryWarningDays: keyExpiryWarningDays
  }
  dependsOn: [storageAccess]
}

module roles 'app/roles.bicep' = {
  name: 'roles'
  params: {
    environmentName: environmentName
    // A role is created in this subscription and assignable in every subscription it is used in.
    assignableSubscriptionIds: union(thisSubscription, builderSubscriptions, registrationSubscriptions, auditSubscriptions,
      keyVaultSubscriptions, keyVaultGroupSubscriptions)
    withRegistration: !empty(requiredFeatures)
    withVerification: verifyImages
  }
}

module builderAssignments 'app/role-assignment-group.bicep' = [
  for (target, i) in builderScopes: {
    name: 'builder-role-${i}'
    scope: resourceGroup(target.subscriptionId, target.resourceGroup)
    params: {
      roleDefinitionName: roles.outputs.builderRoleName
      principalId: identity.outputs.principalId
    }
  }
]

module verificationAssignments 'app/role-assignment-group.bicep' = [
  for (target, i) in verificationScopes: {
    name: 'verification-role-${i}'
    scope: resourceGroup(target.subscriptionId, target.resourceGroup)
    params: {
      roleDefinitionName: roles.outputs.verificationRoleName
      principalId: identity.outputs.principalId
    }
  }
]

module networkAssignments 'app/role-assignment-group.bicep' = [
  for (target, i) in subnetScopes: {
    name: 'network-role-${i}'
    scope: resourceGroup(target.subscriptionId, target.resourceGroup)
    params: {
      roleDefinitionName: roles.outputs.networkRoleName
      principalId: identity.outputs.principalId
    }
  }
]

module registrationAssignments 'app/role-assignment-subscription.bicep' = [
  for (subscriptionId, i) in registrationSubscriptions: {
    name: 'registration-role-${i}'
    scope: subscription(subscriptionId)
    params: {
      roleDefinitionName: roles.outputs.registrationRoleName
      principalId: identity.outputs.principalId
    }
  }
]

module auditAssignments 'app/role-assignment-subscription.bicep' = [
  for (subscriptionId, i) in auditSubscriptions: {
    name: 'audit-role-${i}'
    scope: subscription(subscriptionId)
    params: {
      roleDefinitionName: roles.outputs.auditRoleName
      principalId: identity.outputs.principalId
    }
  }
]

module keyChainGroupAssignments 'app/role-assignment-group.bicep' = [
  for (target, i) in keyVaultGroups: {
    name: 'key-chain-role-${i}'
    scope: resourceGroup(target.subscriptionId, target.resourceGroup)
    params: {
      roleDefinitionName: roles.outputs.keyChainRoleName
      principalId: identity.outputs.principalId
    }
  }
]

module keyChainSubscriptionAssignments 'app/role-assignment-subscription.bicep' = [
  for (subscriptionId, i) in keyVaultSubscriptions: {
    name: 'key-chain-sub-role-${i}'
    scope: subscription(subscriptionId)
    params: {
      roleDefinitionName: roles.outputs.keyChainRoleName
      principalId: identity.outputs.principalId
    }
  }
]

module eventGrid 'app/event-grid.bicep' = [
  for (target, i) in topicScopes: {
    name: 'event-grid-${i}'
    scope: resourceGroup(target.subscriptionId, target.resourceGroup)
    params: {
      topicName: 'evgt-cmk-${resourceToken}-${i}'
      functionAppId: functionApp.outputs.id
      wire: wireEventGrid
      tags: tags
    }
  }
]

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = functionApp.outputs.name
output AZURE_STORAGE_ACCOUNT string = storage.outputs.name
output APP_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output BUILDER_ROLE_NAME string = roles.outputs.builderRoleName
