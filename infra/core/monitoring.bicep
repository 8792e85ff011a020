// Application Insights on a Log Analytics workspace; local (key) auth disabled: the app's identity
// publishes telemetry with the Monitoring Metrics Publisher role (storage-access.bicep).
param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object = {}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
    features: { disableLocalAuth: true }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

output name string = insights.name
output id string = insights.id
output connectionString string = insights.properties.ConnectionString
