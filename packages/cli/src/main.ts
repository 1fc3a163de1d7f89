console.log('lockgate');
