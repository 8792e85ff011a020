// Alerts as code: log search alert rules (scheduled query rules) on Application Insights, each sent to the
// action group the deployment names. The queries are the ones docs/operations.md explains.
param applicationInsightsId string
param actionGroupId string
param location string
param tags object = {}
param namePrefix string

var alerts = [
  {
    name: 'build-failed'
    title: 'Image build failed or rejected'
    severity: 2
    frequency: 'PT15M'
    window: 'PT15M'
    query: 'customMetrics | where name == "builds.completed" | where tostring(customDimensions.outcome) in ("Failed", "Rejected") | summarize n = sum(value)'
    measure: 'n'
    threshold: 0
  }
  {
    name: 'poison-message'
    title: 'A queue message was moved to a poison queue'
    severity: 2
    frequency: 'PT15M'
    window: 'PT15M'
    query: 'customMetrics | where name == "messages.poisoned" | summarize n = sum(value)'
    measure: 'n'
    threshold: 0
  }
  {
    name: 'build-stuck'
    title: 'A build has written nothing for two hours'
    severity: 3
    frequency: 'PT1H'
    window: 'P1D'
    query: 'traces | extend buildId = tostring(customDimensions["build.id"]), status = tostring(customDimensions["build.status"]) | where isnotempty(buildId) | summarize arg_max(timestamp, status) by buildId | where status !in ("Succeeded", "Failed", "Rejected", "Cancelled") and timestamp < ago(2h) | summarize n = count()'
    measure: 'n'
    threshold: 0
  }
  {
    name: 'arm-throttling'
    title: 'ARM throttles the app (429)'
    severity: 3
    frequency: 'PT1H'
    window: 'PT1H'
    query: 'customMetrics | where name == "arm.throttled" | summarize n = sum(value)'
    measure: 'n'
    threshold: 20
  }
  {
    name: 'key-health'
    title: 'A key behind published images is disabled, expired, expiring or unreachable'
    severity: 1
    frequency: 'PT6H'
    window: 'P1D'
    query: 'customMetrics | where name == "audit.key_health" | summarize n = sum(value)'
    measure: 'n'
    threshold: 0
  }
]

resource rules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for alert in alerts: {
    name: '${namePrefix}-${alert.name}'
    location: location
    tags: tags
    properties: {
      displayName: alert.title
      description: 'CMK image builder: ${alert.title} (docs/operations.md).'
      severity: alert.severity
      enabled: true
      evaluationFrequency: alert.frequency
      windowSize: alert.window
      scopes: [applicationInsightsId]
      criteria: {
        allOf: [
          {
            query: alert.query
            timeAggregation: 'Total'
            metricMeasureColumn: alert.measure
            operator: 'GreaterThan'
            threshold: alert.threshold
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      actions: { actionGroups: [actionGroupId] }
      autoMitigate: false
    }
  }
]

output ruleNames array = [for (alert, i) in alerts: rules[i].name]
