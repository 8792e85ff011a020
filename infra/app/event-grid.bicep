// An Event Grid system topic on this subscription and, once the function is deployed, an event
// subscription that invokes snapshot_written only for successful snapshot writes.
param topicName string
param functionAppId string
@description('Create the event subscription (the function must exist: azd sets this after deploy).')
param wire bool
param tags object = {}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: topicName
  location: 'global'
  tags: tags
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

resource snapshots 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (wire) {
  parent: topic
  name: 'snapshot-written'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/snapshot_written'
        maxEventsPerBatch: 1
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Resources.ResourceWriteSuccess']
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.operationName'
          values: ['Microsoft.Compute/snapshots/write']
        }
      ]
    }
    retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 }
  }
}

output topicId string = topic.id
