// A custom role of the app's identity on one subscription (registration, or the audit's gallery list).
targetScope = 'subscription'

@description('The custom role\'s GUID (roles.bicep), resolved in this subscription.')
param roleDefinitionName string
param principalId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleDefinitionName)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
