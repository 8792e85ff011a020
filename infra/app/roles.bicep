// The app's custom roles: exactly the ARM actions it performs (tests/deploy/test_least_privilege.py
// compares them with every ARM call the app makes in the integration and end-to-end tests).
targetScope = 'subscription'

param environmentName string
@description('Subscriptions the roles may be assigned in.')
param assignableSubscriptionIds array
@description('Create the registration role (REQUIRED_FEATURES is not empty).')
param withRegistration bool
@description('Create the verification roles (builds may ask for a verification VM).')
param withVerification bool

// Assigned on each target resource group (galleries, disk encryption sets, build sources).
var builderActions = [
  'Microsoft.Compute/galleries/read'
  'Microsoft.Compute/galleries/images/read'
  'Microsoft.Compute/galleries/images/versions/read'
  'Microsoft.Compute/galleries/images/versions/write'
  'Microsoft.Compute/locations/capsOperations/read'
  'Microsoft.Compute/diskEncryptionSets/read'
  'Microsoft.Compute/images/read'
  'Microsoft.Compute/snapshots/read'
  'Microsoft.Compute/disks/read'
  'Microsoft.Compute/virtualMachines/read'
]

// Assigned on each subscription where features are registered (only when REQUIRED_FEATURES is set).
var registrationActions = [
  'Microsoft.Features/providers/features/read'
  'Microsoft.Features/providers/features/register/action'
  'Microsoft.Resources/subscriptions/providers/read'
  'Microsoft.Compute/register/action'
]

// Assigned on each subscription in AUDIT_SUBSCRIPTIONS: list its galleries, read their versions and DES.
var auditActions = [
  'Microsoft.Compute/galleries/read'
  'Microsoft.Compute/galleries/images/read'
  'Microsoft.Compute/galleries/images/versions/read'
  'Microsoft.Compute/diskEncryptionSets/read'
]

// Assigned on each target resource group when verification VMs are enabled: a NIC and a VM from the new
// version, their disks read back (builder role) and everything deleted.
var verificationActions = [
  'Microsoft.Compute/virtualMachines/write'
  'Microsoft.Compute/virtualMachines/delete'
  'Microsoft.Compute/disks/delete'
  'Microsoft.Network/networkInterfaces/write'
  'Microsoft.Network/networkInterfaces/delete'
  'Microsoft.Network/networkInterfaces/join/action'
]

// Assigned on each key vault scope (keyVaultScopes): the key chain behind every disk encryption set, read
// through ARM's management plane only (no Key Vault data-plane permission), by the pre-flight and the audit.
var keyChainActions = [
  'Microsoft.KeyVault/vaults/read'
  'Microsoft.KeyVault/vaults/keys/versions/read'
  'Microsoft.Authorization/roleAssignments/read'
  'Microsoft.Authorization/roleDefinitions/read'
]

// Assigned on each resource group holding a verification subnet: the NIC joins it.
var networkActions = [
  'Microsoft.Network/virtualNetworks/subnets/join/action'
]

var scopes = [for s in assignableSubscriptionIds: '/subscriptions/${s}']

resource builder 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'cmk-image-builder')
  properties: {
    roleName: 'CMK Image Builder (${environmentName})'
    description: 'Creates CMK-encrypted gallery image versions: reads galleries, sources and disk encryption sets, writes image versions.'
    type: 'CustomRole'
    permissions: [{ actions: builderActions, notActions: [] }]
    assignableScopes: scopes
  }
}

resource registration 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (withRegistration) {
  name: guid(subscription().id, environmentName, 'cmk-image-builder-registration')
  properties: {
    roleName: 'CMK Image Builder registration (${environmentName})'
    description: 'Registers the preview features the CMK image builder needs and re-registers Microsoft.Compute.'
    type: 'CustomRole'
    permissions: [{ actions: registrationActions, notActions: [] }]
    assignableScopes: scopes
  }
}

resource audit 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'cmk-image-builder-audit')
  properties: {
    roleName: 'CMK Image Builder audit (${environmentName})'
    description: 'Reads galleries, image versions and disk encryption sets for the compliance audit.'
    type: 'CustomRole'
    permissions: [{ actions: auditActions, notActions: [] }]
    assignableScopes: scopes
  }
}

resource keyChain 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'cmk-image-builder-key-chain')
  properties: {
    roleName: 'CMK Image Builder key chain (${environmentName})'
    description: 'Reads key vaults, key versions and the role assignments on them (management plane only) to check each disk encryption set\'s key before a build and in the audit.'
    type: 'CustomRole'
    permissions: [{ actions: keyChainActions, notActions: [] }]
    assignableScopes: scopes
  }
}

// Role definitions are tenant-wide; each assignment names its role by this GUID in its own subscription.
resource verification 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (withVerification) {
  name: guid(subscription().id, environmentName, 'cmk-image-builder-verification')
  properties: {
    roleName: 'CMK Image Builder verification (${environmentName})'
    description: 'Creates and deletes the verification VM, its NIC and disks for a new CMK image version.'
    type: 'CustomRole'
    permissions: [{ actions: verificationActions, notActions: [] }]
    assignableScopes: scopes
  }
}

resource network 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (withVerification) {
  name: guid(subscription().id, environmentName, 'cmk-image-builder-network')
  properties: {
    roleName: 'CMK Image Builder network (${environmentName})'
    description: 'Lets the verification VM NIC join its subnet.'
    type: 'CustomRole'
    permissions: [{ actions: networkActions, notActions: [] }]
    assignableScopes: scopes
  }
}

output builderRoleName string = builder.name
output registrationRoleName string = withRegistration ? registration.name : ''
output auditRoleName string = audit.name
output verificationRoleName string = withVerification ? verification.name : ''
output networkRoleName string = withVerification ? network.name : ''
output keyChainRoleName string = keyChain.name
